"""The relationship timeline in a real browser: a quick-logged interaction appears where a
reload keeps it, and each entry's time is in the reader's own time zone (#16, 10)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from events.models import Event
from relationships import services
from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Far from the server's zone (Europe/London), so a time left in the server's zone shows.
READER_ZONE = "Pacific/Auckland"


@pytest.fixture
def reader_page(browser, live_server):
    """The ``page`` fixture, in a browser set to the reader's own time zone."""
    context = browser.new_context(base_url=live_server.url, timezone_id=READER_ZONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    yield page
    context.close()


def entry_ids(page) -> list[str]:
    return page.locator("#timeline > li.feed-event").evaluate_all("els => els.map(e => e.id)")


def test_a_quick_logged_interaction_stays_where_it_appeared_after_a_reload(
    reader_page, manager_a, team_a
):
    page = reader_page
    relationship = RelationshipFactory(
        manager=manager_a, team=team_a, stakeholder=StakeholderFactory(name="Wren Trust")
    )
    for summary in ("First call", "Second call"):
        services.interaction_log(
            relationship=relationship,
            by=manager_a,
            occurred_on=timezone.localdate(),
            channel="call",
            summary=summary,
        )

    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    page.goto(relationship.get_absolute_url())

    # A meeting three days ago, logged now, with a follow-up (itself a timeline entry).
    quick_log = page.locator("#quick-log")
    quick_log.get_by_label("Date").fill((timezone.localdate() - timedelta(days=3)).isoformat())
    quick_log.get_by_label("Channel").select_option("meeting")
    quick_log.get_by_label("Summary").fill("Backlog: the board meeting")
    quick_log.get_by_text("Participants, key experience, follow-up").click()
    quick_log.get_by_label("Follow-up (we promised)").fill("Send the board our minutes")
    quick_log.get_by_role("button", name="Log it").click()
    page.locator("#timeline").get_by_text("Backlog: the board meeting").wait_for()

    appeared = entry_ids(page)
    page.reload()
    page.locator("#timeline").wait_for()
    assert entry_ids(page) == appeared
    entries = page.locator("#timeline > li.feed-event")
    assert entries.nth(0).get_attribute("data-verb") == "commitment.created"
    assert "Backlog: the board meeting" in entries.nth(1).inner_text()
    assert "Second call" in entries.nth(2).inner_text()

    # Each entry shows its time, in the reader's zone rather than the server's.
    logged = Event.objects.get(verb="interaction.logged", data__summary__startswith="Backlog")
    local = timezone.localtime(logged.occurred_at, ZoneInfo(READER_ZONE))
    expected = f"{local.day} {local:%b %Y}, {local:%H:%M}"
    assert entries.nth(1).locator("time").inner_text() == expected
    assert page.console_errors == []

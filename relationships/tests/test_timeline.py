"""The relationship timeline: strictly newest first by time, the same after an HTMX write as
after a reload, each entry with its time, long text folded (#16, 10)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from relationships import services
from relationships.tests.helpers import HTMX, client_for
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db

# 09:30 in London (GMT in March): the site's time zone in these tests.
MORNING = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def owned(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a)


def timeline_of(html: str) -> str:
    start = html.index('<div id="timeline-entries"')
    return html[start : html.index("</ol>", start)]


def event_ids(html: str) -> list[str]:
    return re.findall(r'id="event-([0-9a-f-]+)"', timeline_of(html))


def verbs(html: str) -> list[str]:
    return re.findall(r'data-verb="([a-z_.]+)"', timeline_of(html))


def log(relationship, by, summary: str, **extra):
    return services.interaction_log(
        relationship=relationship,
        by=by,
        occurred_on=timezone.localdate(),
        channel="call",
        summary=summary,
        **extra,
    )


def test_entries_are_newest_first_by_time_not_grouped_by_kind(manager_a, owned, settings):
    settings.TIME_ZONE = "Europe/London"
    with time_machine.travel(MORNING, tick=False) as clock:
        log(owned, manager_a, "First call")
        clock.shift(timedelta(hours=1))
        services.value_record_create(
            relationship=owned,
            by=manager_a,
            recorded_on=timezone.localdate(),
            kind="revenue",
            amount=Decimal("10"),
            unit="EUR",
        )
        clock.shift(timedelta(hours=1))
        log(owned, manager_a, "Second call")
        clock.shift(timedelta(hours=1))
        services.commitment_create(
            relationship=owned, by=manager_a, direction="ours", description="Send notes"
        )
        html = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    entries = [v for v in verbs(html) if v != "relationship.created"]
    assert entries == [
        "commitment.created",
        "interaction.logged",
        "value_record.created",
        "interaction.logged",
    ]
    timeline = timeline_of(html)
    assert timeline.index("Second call") < timeline.index("First call")


def test_entries_of_the_same_moment_keep_the_order_they_were_recorded_in(manager_a, owned):
    with time_machine.travel(MORNING, tick=False):
        for n in range(3):
            log(owned, manager_a, f"Same moment {n}")
        html = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    timeline = timeline_of(html)
    positions = [timeline.index(f"Same moment {n}") for n in range(3)]
    assert positions == sorted(positions, reverse=True)  # the later id first


def test_a_quick_logged_item_is_where_a_reload_puts_it(manager_a, owned):
    log(owned, manager_a, "Earlier call")
    client = client_for(manager_a)
    response = client.post(
        reverse("relationships:interaction_new", args=[owned.pk]),
        {
            "occurred_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
            "channel": "meeting",
            "summary": "Backlog meeting",
            "sentiment": "1",
            "follow_up": "Send the minutes",
        },
        **HTMX,
    )
    swapped = response.content.decode()
    assert '<div id="timeline-entries" hx-swap-oob="true">' in swapped
    reloaded = client.get(owned.get_absolute_url()).content.decode()
    assert event_ids(swapped) == event_ids(reloaded)
    # The follow-up's commitment was recorded after the interaction: it is on top.
    assert verbs(reloaded)[:3] == ["commitment.created", "interaction.logged", "interaction.logged"]
    assert timeline_of(reloaded).index("Backlog meeting") < timeline_of(reloaded).index(
        "Earlier call"
    )


def test_recorded_value_is_where_a_reload_puts_it(manager_a, owned):
    log(owned, manager_a, "Earlier call")
    client = client_for(manager_a)
    response = client.post(
        reverse("relationships:value_new", args=[owned.pk]),
        {
            "recorded_on": timezone.localdate().isoformat(),
            "kind": "revenue",
            "amount": "5",
            "unit": "EUR",
        },
        **HTMX,
    )
    swapped = response.content.decode()
    reloaded = client.get(owned.get_absolute_url()).content.decode()
    assert event_ids(swapped) == event_ids(reloaded)
    assert verbs(swapped)[0] == "value_record.created"


def test_each_entry_shows_its_time(manager_a, owned, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with time_machine.travel(MORNING, tick=False):
        log(owned, manager_a, "Timed call")
        html = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    entry = timeline_of(html)[: timeline_of(html).index("Timed call")]
    # 09:30 UTC is 10:30 in Berlin; the browser restates it in the reader's own zone.
    assert '<time datetime="2026-03-02T10:30:00+01:00"' in entry
    assert "data-local-time>2 Mar 2026, 10:30</time>" in entry


def test_a_backlog_interaction_says_which_day_it_happened(manager_a, owned):
    day = timezone.localdate() - timedelta(days=3)
    services.interaction_log(
        relationship=owned, by=manager_a, occurred_on=day, channel="call", summary="Old call"
    )
    html = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert f"Call · on {day.day} {day:%b %Y}" in timeline_of(html)


def test_long_text_folds_behind_show_more(manager_a, owned):
    log(owned, manager_a, "Short and whole")
    log(owned, manager_a, "A long account of the meeting. " * 6 + "THE END")
    timeline = timeline_of(client_for(manager_a).get(owned.get_absolute_url()).content.decode())
    folded = timeline[timeline.index("<details") : timeline.index("</details>")]
    assert "show more" in folded and "THE END" in folded
    assert folded.index("show more") < folded.index("THE END")  # unfolded on demand
    assert '<div class="small">Short and whole</div>' in timeline

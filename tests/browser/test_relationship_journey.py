"""A manager's first relationship, end to end in a real browser."""

from __future__ import annotations

import pytest

from relationships.models import Relationship, Stage
from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipTypeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manager_takes_a_new_stakeholder_from_identify_to_build(page, manager_a):
    RelationshipTypeFactory(name="Strategic partner")
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")

    # Record the stakeholder.
    page.goto("/stakeholders/new/")
    page.get_by_label("Name").fill("Kestrel Community Trust")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/stakeholders/*/")
    assert "Kestrel Community Trust" in page.locator("h1").inner_text()

    # Open a relationship with it, already naming the type and the manager.
    page.get_by_role("link", name="Open a relationship").click()
    page.get_by_label("Type").select_option(label="Strategic partner")
    page.get_by_label("Manager").select_option(value=str(manager_a.pk))
    page.get_by_role("button", name="Open relationship").click()
    page.wait_for_url("**/relationships/*/")
    relationship = Relationship.objects.get(stakeholder__name="Kestrel Community Trust")

    def move(label: str) -> None:
        page.get_by_role("button", name=label).click()
        page.wait_for_load_state("networkidle")

    move("Move to Present")
    assert page.get_by_text("Moved to Present").is_visible()

    # Log the partnering session with the quick-log form (no page reload).
    quick_log = page.locator("#quick-log")
    quick_log.get_by_label("Channel").select_option("partnering_session")
    quick_log.get_by_label("Summary").fill("Agreed how we roll out together")
    quick_log.get_by_role("button", name="Log it").click()
    page.get_by_text("Agreed how we roll out together").first.wait_for()
    move("Move to Pilot")
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PILOT

    # A refused move says what is missing and changes nothing.
    move("Move to Build")
    assert "key experience" in page.locator("#transition-error").inner_text()
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PILOT

    quick_log = page.locator("#quick-log")
    quick_log.get_by_label("Summary").fill("First joint event: 40 volunteers came")
    quick_log.get_by_label("Pilot key experience").check()
    quick_log.get_by_label("Outcome").select_option("success")
    quick_log.get_by_role("button", name="Log it").click()
    page.get_by_text("First joint event: 40 volunteers came").first.wait_for()
    move("Move to Build")
    relationship.refresh_from_db()
    assert relationship.stage == Stage.BUILD
    assert list(relationship.transitions.values_list("to_stage", flat=True)) == [
        "build",
        "pilot",
        "present",
    ]
    assert page.console_errors == []

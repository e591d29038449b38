"""Moving relationships on the board by drag and drop, in a real browser (#16): a drop asks
for the same stage move as the card's button, under the same lifecycle rules."""

from __future__ import annotations

import pytest

from relationships.models import Relationship, Stage
from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def column(page, stage: str):
    return page.locator(f'.board-column[data-stage="{stage}"]')


def test_a_card_dropped_on_the_next_column_moves_there_and_stays(page, manager_a, team_a):
    relationship = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Heron Housing"), manager=manager_a, team=team_a
    )
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    page.goto("/relationships/board/")
    card = f"#card-{relationship.pk}"
    assert column(page, "identify").locator(card).count() == 1

    page.drag_and_drop(card, '.board-column[data-stage="present"]')

    column(page, "present").locator(card).wait_for()
    page.locator("#board-status", has_text="Moved Heron Housing to Present.").wait_for()
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PRESENT
    page.reload()
    assert column(page, "present").locator(card).count() == 1
    assert column(page, "identify").locator(card).count() == 0
    assert page.console_errors == []


def test_a_card_dropped_on_a_gated_stage_snaps_back_with_the_reason(page, manager_a, team_a):
    # In Pilot without a key experience: Build is the next stage, but its gate is shut.
    relationship = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Osprey Logistics"),
        manager=manager_a,
        team=team_a,
        stage=Stage.PILOT,
    )
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    page.goto("/relationships/board/")
    card = f"#card-{relationship.pk}"

    page.drag_and_drop(card, '.board-column[data-stage="build"]')

    alert = column(page, "pilot").locator(f"{card} [role=alert]")
    alert.wait_for()
    assert "key experience" in alert.inner_text()
    page.locator("#board-status", has_text="Osprey Logistics was not moved").wait_for()
    assert column(page, "build").locator(card).count() == 0
    assert Relationship.objects.get(pk=relationship.pk).stage == Stage.PILOT
    assert relationship.transitions.count() == 0
    assert page.console_errors == []

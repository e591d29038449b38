"""The lifecycle through the pages: every guard refuses with a message and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relationships.models import Stage, StageTransition
from relationships.tests.helpers import HTMX, client_for
from tests.factories import InteractionFactory, RelationshipFactory

pytestmark = pytest.mark.django_db


def move(client, relationship, to_stage, note="", **extra):
    data = {"to_stage": to_stage, "note": note, "expected_stage": relationship.stage, **extra}
    return client.post(reverse("relationships:transition", args=[relationship.pk]), data)


@pytest.fixture
def owned(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a)


def test_it_presents_a_relationship_with_type_and_manager(manager_a, owned):
    response = move(client_for(manager_a), owned, "present", note="Proposed as partner")
    assert response.status_code == 302
    owned.refresh_from_db()
    assert owned.stage == Stage.PRESENT
    assert owned.started_on is not None
    step = StageTransition.objects.get(relationship=owned)
    assert (step.from_stage, step.to_stage, step.by, step.note) == (
        "identify",
        "present",
        manager_a,
        "Proposed as partner",
    )


def test_it_refuses_present_without_type_or_manager_and_names_both(manager_a, team_a):
    relationship = RelationshipFactory(type=None, manager=None, team=team_a)
    response = move(client_for(manager_a), relationship, "present")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Choose the relationship type" in content
    assert "Name a relationship manager" in content
    relationship.refresh_from_db()
    assert relationship.stage == Stage.IDENTIFY
    assert not StageTransition.objects.exists()


def test_it_refuses_pilot_without_partnering_session(manager_a, owned):
    owned.stage = Stage.PRESENT
    owned.save()
    response = move(client_for(manager_a), owned, "pilot")
    assert "Record the partnering work session first" in response.content.decode()
    owned.refresh_from_db()
    assert owned.stage == Stage.PRESENT


def test_it_pilots_once_a_partnering_session_is_logged(manager_a, owned):
    owned.stage = Stage.PRESENT
    owned.save()
    InteractionFactory(relationship=owned, channel="partnering_session")
    assert move(client_for(manager_a), owned, "pilot").status_code == 302
    owned.refresh_from_db()
    assert owned.stage == Stage.PILOT


def test_it_refuses_build_without_key_experience(manager_a, owned):
    owned.stage = Stage.PILOT
    owned.save()
    InteractionFactory(relationship=owned, is_key_experience=True, outcome="")
    response = move(client_for(manager_a), owned, "build")
    assert "Log at least one pilot key experience" in response.content.decode()
    owned.refresh_from_db()
    assert owned.stage == Stage.PILOT


def test_it_builds_after_a_key_experience_with_outcome(manager_a, owned):
    owned.stage = Stage.PILOT
    owned.save()
    InteractionFactory(relationship=owned, is_key_experience=True, outcome="success")
    assert move(client_for(manager_a), owned, "build").status_code == 302
    owned.refresh_from_db()
    assert owned.stage == Stage.BUILD


def test_it_refuses_to_end_without_a_reason(manager_a, owned):
    response = move(client_for(manager_a), owned, "ended", note="  ")
    assert "Ending a relationship needs a reason" in response.content.decode()
    owned.refresh_from_db()
    assert owned.stage == Stage.IDENTIFY


def test_it_ends_with_a_reason_and_keeps_it(manager_a, owned):
    assert move(client_for(manager_a), owned, "ended", note="Values diverged").status_code == 302
    owned.refresh_from_db()
    assert owned.stage == Stage.ENDED
    assert owned.end_reason == "Values diverged"
    assert owned.ended_on is not None


@pytest.mark.parametrize(("to_stage", "label"), [("build", "Grow"), ("present", "Change")])
def test_a_review_can_grow_or_change(manager_a, owned, to_stage, label):
    owned.stage = Stage.REVIEW
    owned.save()
    page = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert label in page
    assert "End the relationship" in page
    assert move(client_for(manager_a), owned, to_stage, note="Decided").status_code == 302
    owned.refresh_from_db()
    assert owned.stage == to_stage


@pytest.mark.parametrize(
    ("stage", "to_stage"),
    [("identify", "build"), ("present", "review"), ("build", "pilot"), ("ended", "present")],
)
def test_it_refuses_illegal_moves(manager_a, owned, stage, to_stage):
    owned.stage = stage
    owned.save()
    response = move(client_for(manager_a), owned, to_stage, note="why")
    content = response.content.decode()
    assert "cannot move from" in content or "has ended" in content
    owned.refresh_from_db()
    assert owned.stage == stage


def test_a_stale_expected_stage_is_refused(manager_a, owned):
    response = move(client_for(manager_a), owned, "present", expected_stage="pilot")
    assert "meanwhile" in response.content.decode()
    owned.refresh_from_db()
    assert owned.stage == Stage.IDENTIFY


def test_transitions_show_on_the_timeline(manager_a, owned):
    client = client_for(manager_a)
    move(client, owned, "present", note="First pitch")
    page = client.get(owned.get_absolute_url()).content.decode()
    assert "Identify → Present" in page
    assert "First pitch" in page


# --- The board ------------------------------------------------------------------------


def test_the_board_shows_cards_in_their_columns(manager_a, owned):
    RelationshipFactory(manager=manager_a, stage=Stage.PILOT, stakeholder__name="Pilot Org")
    response = client_for(manager_a).get(reverse("relationships:board"))
    content = response.content.decode()
    assert response.status_code == 200
    assert f'id="card-{owned.pk}"' in content
    assert "Pilot Org" in content
    assert "Move to Present" in content


def test_a_board_move_obeys_the_rules_and_shows_the_refusal_on_the_card(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage=Stage.PRESENT)
    response = client_for(manager_a).post(
        reverse("relationships:transition", args=[relationship.pk]),
        {"to_stage": "pilot", "expected_stage": "present", "source": "board"},
        **HTMX,
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert f'id="card-{relationship.pk}"' in content
    assert "Record the partnering work session first" in content
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PRESENT


def test_a_board_move_that_passes_redraws_the_board(manager_a, owned):
    response = client_for(manager_a).post(
        reverse("relationships:transition", args=[owned.pk]),
        {"to_stage": "present", "expected_stage": "identify", "source": "board"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#board"
    assert 'id="board"' in response.content.decode()
    owned.refresh_from_db()
    assert owned.stage == Stage.PRESENT


def test_the_board_limits_columns_and_links_to_the_filtered_list(manager_a, monkeypatch):
    from relationships import views

    monkeypatch.setattr(views, "BOARD_COLUMN_LIMIT", 2)
    for _ in range(3):
        RelationshipFactory(manager=manager_a)
    content = client_for(manager_a).get(reverse("relationships:board")).content.decode()
    assert "Show all 3 in the list" in content
    assert "stage=identify" in content


def test_a_card_in_review_opens_the_review_form_instead_of_deciding_on_the_board(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage=Stage.REVIEW)
    page = client_for(manager_a).get(reverse("relationships:board")).content.decode()
    card = page[page.index(f'id="card-{relationship.pk}"') :]
    card = card[: card.index("</article>")]
    # Grow or change is the review's decision, with its ratings: no one-click move here.
    assert 'name="to_stage"' not in card
    assert f'href="/relationships/{relationship.pk}/#relationship-reviews"' in card

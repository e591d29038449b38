"""The relationship lifecycle, straight through the service every entry point calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ConcurrencyConflict, RuleViolation
from relationships.models import Stage, StageTransition
from relationships.services import (
    FollowUp,
    PermissionRefused,
    interaction_log,
    relationship_create,
    relationship_transition,
    relationship_update,
)
from tests.factories import (
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def relationship(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a)


def refused(relationship, to_stage, by, note=""):
    with pytest.raises(RuleViolation) as caught:
        relationship_transition(relationship=relationship, to_stage=to_stage, by=by, note=note)
    relationship.refresh_from_db()
    return caught.value


def test_it_refuses_present_without_type_and_manager(manager_a, team_a):
    relationship = RelationshipFactory(type=None, manager=None, team=team_a)
    error = refused(relationship, Stage.PRESENT, manager_a)
    assert "relationship type" in error.message
    assert "relationship manager" in error.message
    assert {p.code for p in error.problems} == {"type_required", "manager_required"}
    assert relationship.stage == Stage.IDENTIFY
    assert not StageTransition.objects.exists()


def test_it_presents_with_type_and_manager_and_records_the_move(relationship, manager_a):
    transition = relationship_transition(
        relationship=relationship, to_stage=Stage.PRESENT, by=manager_a, note="Proposed a form"
    )
    assert relationship.stage == Stage.PRESENT
    assert relationship.started_on == timezone.localdate()
    assert (transition.from_stage, transition.to_stage, transition.by) == (
        "identify",
        "present",
        manager_a,
    )
    assert transition.note == "Proposed a form"


def test_it_refuses_pilot_without_a_partnering_session(relationship, manager_a):
    relationship.stage = Stage.PRESENT
    relationship.save()
    error = refused(relationship, Stage.PILOT, manager_a)
    assert error.code == "partnering_session_required"
    assert relationship.stage == Stage.PRESENT


def test_a_partnering_session_interaction_opens_the_pilot(relationship, manager_a):
    relationship.stage = Stage.PRESENT
    relationship.save()
    InteractionFactory(relationship=relationship, channel="partnering_session")
    relationship_transition(relationship=relationship, to_stage=Stage.PILOT, by=manager_a)
    assert relationship.stage == Stage.PILOT


def test_a_recorded_session_date_and_notes_also_open_the_pilot(relationship, manager_a):
    relationship.stage = Stage.PRESENT
    relationship.partnering_session_on = timezone.localdate()
    relationship.partnering_session_notes = "Agreed roll-out"
    relationship.save()
    relationship_transition(relationship=relationship, to_stage=Stage.PILOT, by=manager_a)
    assert relationship.stage == Stage.PILOT


def test_it_refuses_build_without_a_key_experience_with_outcome(relationship, manager_a):
    relationship.stage = Stage.PILOT
    relationship.save()
    InteractionFactory(relationship=relationship, is_key_experience=True, outcome="")
    assert refused(relationship, Stage.BUILD, manager_a).code == "key_experience_required"
    InteractionFactory(relationship=relationship, is_key_experience=True, outcome="learning")
    relationship_transition(relationship=relationship, to_stage=Stage.BUILD, by=manager_a)
    assert relationship.stage == Stage.BUILD


@pytest.mark.parametrize(
    ("decision", "expected"), [(Stage.BUILD, Stage.BUILD), (Stage.PRESENT, Stage.PRESENT)]
)
def test_review_can_grow_or_change(relationship, manager_a, decision, expected):
    relationship.stage = Stage.REVIEW
    relationship.save()
    relationship_transition(relationship=relationship, to_stage=decision, by=manager_a)
    assert relationship.stage == expected


@pytest.mark.parametrize("stage", [Stage.IDENTIFY, Stage.PILOT, Stage.BUILD, Stage.REVIEW])
def test_ending_from_any_stage_needs_a_reason(relationship, manager_a, stage):
    relationship.stage = stage
    relationship.save()
    assert refused(relationship, Stage.ENDED, manager_a, note="  ").code == "reason_required"
    relationship_transition(
        relationship=relationship, to_stage=Stage.ENDED, by=manager_a, note="Values diverged"
    )
    assert relationship.stage == Stage.ENDED
    assert relationship.end_reason == "Values diverged"
    assert relationship.ended_on == timezone.localdate()


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Stage.IDENTIFY, Stage.PILOT),
        (Stage.IDENTIFY, Stage.BUILD),
        (Stage.PRESENT, Stage.REVIEW),
        (Stage.PILOT, Stage.IDENTIFY),
        (Stage.BUILD, Stage.PRESENT),
        (Stage.ENDED, Stage.PRESENT),
        (Stage.BUILD, Stage.BUILD),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(relationship, manager_a, start, target):
    relationship.stage = start
    relationship.save()
    version = relationship.version
    error = refused(relationship, target, manager_a, note="reason")
    assert error.code in {"illegal_transition", "already_in_stage"}
    assert relationship.stage == start
    assert relationship.version == version


def test_an_unknown_stage_is_refused(relationship, manager_a):
    assert refused(relationship, "celebrate", manager_a).code == "unknown_stage"


def test_a_stale_board_card_is_refused(relationship, manager_a):
    with pytest.raises(RuleViolation) as caught:
        relationship_transition(
            relationship=relationship,
            to_stage=Stage.PILOT,
            by=manager_a,
            expected_stage=Stage.PRESENT,
        )
    assert caught.value.code == "stage_changed"


@pytest.mark.parametrize("persona", ["contributor_a", "executive", "manager_b"])
def test_only_those_who_may_change_it_move_it(request, relationship, persona):
    with pytest.raises(PermissionRefused):
        relationship_transition(
            relationship=relationship, to_stage=Stage.PRESENT, by=request.getfixturevalue(persona)
        )


def test_a_teammate_manager_and_an_admin_may_move_it(relationship, team_a, admin_user):
    from tests.factories import UserFactory

    teammate = UserFactory(username="teammate", role="manager", teams=[team_a])
    relationship_transition(relationship=relationship, to_stage=Stage.PRESENT, by=teammate)
    relationship_transition(
        relationship=relationship, to_stage=Stage.ENDED, by=admin_user, note="Merged elsewhere"
    )
    assert relationship.stage == Stage.ENDED


def test_concurrent_edits_do_not_overwrite_each_other(relationship, manager_a, team_a):
    from tests.factories import UserFactory

    colleague = UserFactory(username="colleague", role="manager", teams=[team_a])
    loaded_version = relationship.version
    relationship_update(
        relationship=relationship,
        by=colleague,
        expected_version=loaded_version,
        purpose="Their purpose",
    )
    with pytest.raises(ConcurrencyConflict) as caught:
        relationship_update(
            relationship=relationship,
            by=manager_a,
            expected_version=loaded_version,
            purpose="My purpose",
        )
    relationship.refresh_from_db()
    assert relationship.purpose == "Their purpose"
    assert str(colleague) in caught.value.message
    assert any("Their purpose" in change for change in caught.value.changes)


def test_history_records_who_changed_what(relationship, manager_a):
    relationship_update(
        relationship=relationship, by=manager_a, expected_version=relationship.version,
        purpose="Sharper purpose",
    )  # fmt: skip
    latest = relationship.history.first()
    assert latest.history_user == manager_a
    changes = latest.diff_against(latest.prev_record).changes
    purpose = next(c for c in changes if c.field == "purpose")
    assert (purpose.old, purpose.new) == ("Grow together", "Sharper purpose")


def test_creating_puts_a_manager_relationship_in_their_only_team(manager_a, team_a):
    relationship = relationship_create(
        stakeholder=StakeholderFactory(), by=manager_a, type=RelationshipTypeFactory()
    )
    assert relationship.team == team_a
    assert relationship.stage == Stage.IDENTIFY
    assert relationship.history.first().history_user == manager_a


def test_a_manager_cannot_assign_another_team(manager_a, team_b):
    with pytest.raises(RuleViolation) as caught:
        relationship_create(stakeholder=StakeholderFactory(), by=manager_a, team=team_b)
    assert caught.value.code == "team_not_allowed"


def test_contributors_cannot_open_relationships(contributor_a):
    with pytest.raises(PermissionRefused):
        relationship_create(stakeholder=StakeholderFactory(), by=contributor_a)


def test_logging_an_interaction_with_a_follow_up(relationship, contributor_a):
    contact = ContactFactory(stakeholder=relationship.stakeholder)
    interaction = interaction_log(
        relationship=relationship,
        by=contributor_a,
        occurred_on=timezone.localdate(),
        channel="call",
        summary="Checked in",
        sentiment=2,
        participant_contacts=[contact],
        follow_up=FollowUp("Send the minutes", timezone.localdate() + timedelta(days=3)),
    )
    relationship.refresh_from_db()
    assert relationship.last_interaction_on == timezone.localdate()
    follow_up = interaction.follow_ups.get()
    assert (follow_up.direction, follow_up.owner) == ("ours", contributor_a)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"summary": " "}, "summary_required"),
        ({"sentiment": 3}, "invalid_sentiment"),
        ({"channel": "carrier pigeon"}, "invalid_channel"),
        ({"is_key_experience": True}, "outcome_required"),
        ({"outcome": "success"}, "outcome_without_key_experience"),
        ({"occurred_on": timezone.localdate() + timedelta(days=1)}, "future_date"),
    ],
)
def test_bad_interactions_are_refused(relationship, manager_a, kwargs, code):
    data = {
        "occurred_on": timezone.localdate(),
        "channel": "meeting",
        "summary": "Lunch",
        **kwargs,
    }
    with pytest.raises(RuleViolation) as caught:
        interaction_log(relationship=relationship, by=manager_a, **data)
    assert caught.value.code == code
    assert not relationship.interactions.exists()


def test_a_contact_of_another_stakeholder_cannot_take_part(relationship, manager_a):
    stranger = ContactFactory()
    with pytest.raises(RuleViolation) as caught:
        interaction_log(
            relationship=relationship,
            by=manager_a,
            occurred_on=timezone.localdate(),
            channel="meeting",
            summary="Lunch",
            participant_contacts=[stranger],
        )
    assert caught.value.code == "contact_elsewhere"

"""Opening, editing and moving a relationship, with the review schedule kept current."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from relationships import services as relationship_services
from relationships.models import Relationship, StageTransition
from reviews import services as review_services


@transaction.atomic
def relationship_open(*, by: User, **fields) -> Relationship:
    """Create the relationship (``relationship_create``) and schedule its first review."""
    relationship = relationship_services.relationship_create(by=by, **fields)
    review_services.relationship_sync_review_schedule(relationship, created=True)
    return relationship


@transaction.atomic
def relationship_edit(
    *, relationship: Relationship, by: User, expected_version: int, **changes
) -> Relationship:
    """Save edited fields (``relationship_update``); a new type or cadence moves the open
    review's due date, so the schedule is synchronised then (and only then)."""
    updated = relationship_services.relationship_update(
        relationship=relationship, by=by, expected_version=expected_version, **changes
    )
    if review_services.SCHEDULE_FIELDS & set(changes):
        review_services.relationship_sync_review_schedule(updated)
        relationship.next_review_on = updated.next_review_on
    return updated


@transaction.atomic
def relationship_move(
    *,
    relationship: Relationship,
    to_stage: str,
    by: User,
    note: str = "",
    expected_stage: str | None = None,
) -> StageTransition:
    """Move the relationship (``relationship_transition``, which locks its row until this
    transaction ends); entering Review opens the review now, any other move keeps the
    schedule current (ending cancels it)."""
    transition = relationship_services.relationship_transition(
        relationship=relationship,
        to_stage=to_stage,
        by=by,
        note=note,
        expected_stage=expected_stage,
    )
    locked = transition.relationship  # the locked row, its type read with it
    review_services.review_schedule_follow_move(relationship=locked, by=by)
    relationship.next_review_on = locked.next_review_on
    return transition

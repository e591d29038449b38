"""Signal receivers (connected in WebhooksConfig.ready): events become deliveries.

Each runs inside the sender's transaction; webhooks.services.event_publish only writes
delivery rows and defers the HTTP work to a task enqueued on commit.
"""

from __future__ import annotations

from django.utils import timezone

from relationships.models import Stage
from webhooks import services
from webhooks.models import EventType
from webhooks.payloads import feedback_data, relationship_data, review_data


def on_relationship_created(sender, *, relationship, by=None, **kwargs) -> None:
    services.event_publish(
        event_type=EventType.RELATIONSHIP_CREATED,
        data={"relationship": relationship_data(relationship)},
        confidential=relationship.confidential,
    )


def on_stage_changed(
    sender, *, relationship, from_stage, to_stage, by=None, transition=None, **kwargs
) -> None:
    change = {
        "from_stage": from_stage,
        "to_stage": to_stage,
        "note": transition.note if transition is not None else "",
        "by": by.username if by is not None else None,
        "at": (transition.at if transition is not None else timezone.now()).isoformat(),
    }
    data = {"relationship": relationship_data(relationship), "transition": change}
    services.event_publish(
        event_type=EventType.RELATIONSHIP_STAGE_CHANGED,
        data=data,
        confidential=relationship.confidential,
    )
    if to_stage == Stage.ENDED:
        services.event_publish(
            event_type=EventType.RELATIONSHIP_ENDED,
            data=data,
            confidential=relationship.confidential,
        )


def on_review_completed(sender, *, review, by=None, **kwargs) -> None:
    relationship = review.relationship
    services.event_publish(
        event_type=EventType.REVIEW_COMPLETED,
        data={"review": review_data(review), "relationship": relationship_data(relationship)},
        confidential=relationship.confidential,
    )


def on_review_overdue(sender, *, review, **kwargs) -> None:
    relationship = review.relationship
    services.event_publish(
        event_type=EventType.REVIEW_OVERDUE,
        data={"review": review_data(review), "relationship": relationship_data(relationship)},
        confidential=relationship.confidential,
        # Reported once a day per recipient: one event per review and due date.
        event_id=services.event_id_for("review.overdue", review.pk, review.due_on),
    )


def on_feedback_received(sender, *, response, **kwargs) -> None:
    relationship = response.relationship
    services.event_publish(
        event_type=EventType.FEEDBACK_RECEIVED,
        data={"feedback": feedback_data(response), "relationship": relationship_data(relationship)},
        confidential=relationship.confidential,
        event_id=services.event_id_for("feedback.received", response.pk),
    )

"""Webhooks consume events after commit: each event of a subscribed verb becomes one
delivery per subscribed endpoint. The endpoints are read once per batch and each event's
payload is built once, however many endpoints receive it. The event's uuid is the
delivery's event id, so a batch handed over twice (the sweep) delivers nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable

from events.models import Event
from events.vocabulary import WEBHOOK_VERBS
from relationships.models import Relationship
from reviews.models import FeedbackResponse, Review
from webhooks import services
from webhooks.payloads import feedback_data, relationship_data, review_data


def _transition(event: Event) -> dict:
    return {
        "from_stage": event.data.get("from_stage"),
        "to_stage": event.data.get("to_stage"),
        "note": event.data.get("note", ""),
        "by": event.actor.username if event.actor_id else None,
        "at": event.occurred_at.isoformat(),
    }


def webhook_events_consume(events: list[Event]) -> None:
    """The webhooks consumer (registered in WebhooksConfig.ready)."""
    endpoints = services.endpoints_active()
    wanted = {verb for endpoint in endpoints for verb in endpoint.event_types or []}
    # Nothing is described for events no endpoint subscribes to (most of them, most days).
    events = [event for event in events if event.verb in wanted]
    if not events:
        return
    relationship_ids = {event.relationship_id for event in events if event.relationship_id}
    relationships = Relationship.objects.select_related(
        "stakeholder", "type", "manager", "team"
    ).in_bulk(relationship_ids)
    reviews = Review.objects.select_related("completed_by").in_bulk(
        [e.subject_id for e in events if e.subject_type == "reviews.review"]
    )
    responses = FeedbackResponse.objects.in_bulk(
        [e.subject_id for e in events if e.subject_type == "reviews.feedbackresponse"]
    )

    def relationship_part(event: Event) -> dict:
        return relationship_data(relationships[event.relationship_id])

    build: dict[str, Callable[[Event], dict]] = {
        "relationship.created": lambda e: {"relationship": relationship_part(e)},
        "relationship.stage_changed": lambda e: {
            "relationship": relationship_part(e),
            "transition": _transition(e),
        },
        "relationship.ended": lambda e: {
            "relationship": relationship_part(e),
            "transition": _transition(e),
        },
        "review.completed": lambda e: {
            "review": review_data(reviews[e.subject_id]),
            "relationship": relationship_part(e),
        },
        "review.overdue": lambda e: {
            "review": review_data(reviews[e.subject_id]),
            "relationship": relationship_part(e),
        },
        "feedback.received": lambda e: {
            "feedback": feedback_data(responses[e.subject_id]),
            "relationship": relationship_part(e),
        },
    }
    outgoing = []
    for event in events:
        relationship = relationships.get(event.relationship_id)
        if relationship is None:  # deleted since: nothing left to describe
            continue
        if event.subject_type == "reviews.review" and event.subject_id not in reviews:
            continue
        if event.subject_type == "reviews.feedbackresponse" and event.subject_id not in responses:
            continue
        outgoing.append(
            services.Outgoing(
                event_type=event.verb,
                event_id=event.uuid,
                created_at=event.occurred_at,
                data=build[event.verb](event),
                confidential=relationship.confidential,
            )
        )
    services.deliveries_create(outgoing, endpoints)


WEBHOOK_EVENT_VERBS = frozenset(WEBHOOK_VERBS)

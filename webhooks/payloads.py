"""What a webhook says about each resource: ids, names, stages and dates.

Free-text notes of reviews and the stakeholder's own comment stay inside Rapport; a
receiver that needs them reads them through the API with a token (and its permissions).
"""

from __future__ import annotations

from django.utils import timezone

from core.links import absolute_url
from reviews.links import relationship_path, review_path


def _date(value) -> str | None:
    return value.isoformat() if value is not None else None


def relationship_data(relationship) -> dict:
    return {
        "id": relationship.pk,
        "stakeholder": {"id": relationship.stakeholder_id, "name": str(relationship.stakeholder)},
        "type": relationship.type.name if relationship.type_id else None,
        "stage": relationship.stage,
        "manager": relationship.manager.username if relationship.manager_id else None,
        "team": relationship.team.name if relationship.team_id else None,
        "confidential": relationship.confidential,
        "is_key": relationship.is_key,
        "started_on": _date(relationship.started_on),
        "ended_on": _date(relationship.ended_on),
        "next_review_on": _date(relationship.next_review_on),
        "url": absolute_url(relationship_path(relationship.pk)),
    }


def review_data(review) -> dict:
    today = timezone.localdate()
    return {
        "id": review.pk,
        "relationship_id": review.relationship_id,
        "status": review.status,
        "due_on": _date(review.due_on),
        "days_overdue": max((today - review.due_on).days, 0) if review.is_open else 0,
        "ratings": review.ratings(),
        "decision": review.decision or None,
        "decision_note": review.decision_note,
        "decision_applied": review.decision_applied,
        "stage_before": review.stage_before or None,
        "stage_after": review.stage_after or None,
        "completed_on": _date(review.completed_on),
        "completed_by": review.completed_by.username if review.completed_by_id else None,
        "url": absolute_url(review_path(review.pk)),
    }


def feedback_data(response) -> dict:
    return {
        "id": response.pk,
        "request_id": response.request_id,
        "relationship_id": response.relationship_id,
        "satisfaction": response.satisfaction,
        "responsiveness": response.responsiveness,
        "communication": response.communication,
        "value": response.value,
        "submitted_at": response.submitted_at.isoformat() if response.submitted_at else None,
    }

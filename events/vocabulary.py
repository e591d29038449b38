"""The event vocabulary: every verb a service may record, in one place.

A verb is ``<subject>.<what happened>`` in the past tense. The webhook event types are the
subset in ``WEBHOOK_VERBS``; a verb not listed here cannot be recorded (``event_record``
refuses it), so the feed, the API filter and the webhooks all speak the same words.
"""

from __future__ import annotations

# verb → how the activity feed says it (the subject and actor are shown beside it).
VERBS: dict[str, str] = {
    # Relationships and their records
    "relationship.created": "opened the relationship",
    "relationship.updated": "edited the relationship",
    "relationship.stage_changed": "moved the relationship",
    "relationship.ended": "ended the relationship",
    "relationship.rated": "rated the relationship",
    "interaction.logged": "logged an interaction",
    "commitment.created": "recorded a commitment",
    "commitment.status_changed": "changed a commitment's status",
    "value_record.created": "recorded value",
    # Reviews and stakeholder feedback
    "review.opened": "opened a review",
    "review.scheduled": "rescheduled the review",
    "review.reviewer_asked": "asked a reviewer",
    "review.completed": "completed a review",
    "review.overdue": "review became overdue",
    "feedback.requested": "asked for stakeholder feedback",
    "feedback.received": "stakeholder feedback arrived",
    # The registry
    "stakeholder.created": "added the stakeholder",
    "stakeholder.updated": "edited the stakeholder",
    "stakeholder.merged": "merged a duplicate into the stakeholder",
    "stakeholder.assessed": "assessed power and interest",
    "stakeholders.imported": "imported stakeholders",
    "contacts.imported": "imported contacts",
    "relationships.imported": "imported relationships",
    "category.saved": "saved a stakeholder category",
    "category.deleted": "deleted a stakeholder category",
    "contact.created": "added a contact",
    "contact.updated": "edited a contact",
    "value.saved": "saved one of our values",
    "value.deleted": "deleted one of our values",
    # Plans
    "objective.created": "added an objective",
    "objective.updated": "edited an objective",
    "objective.moved": "moved an objective",
    "objective.deleted": "deleted an objective",
    "kpi.measured": "recorded a KPI measurement",
    "plan.created": "created a plan",
    "plan.updated": "edited a plan",
    "initiative.created": "added an initiative",
    "initiative.updated": "edited an initiative",
}

# What integrations can subscribe to (webhooks.models.EventType is built from this).
WEBHOOK_VERBS: dict[str, str] = {
    "relationship.created": "Relationship created",
    "relationship.stage_changed": "Relationship stage changed",
    "relationship.ended": "Relationship ended",
    "review.completed": "Review completed",
    "review.overdue": "Review overdue",
    "feedback.received": "Stakeholder feedback received",
}

assert set(WEBHOOK_VERBS) <= set(VERBS), "webhook verbs must be event verbs"


def verb_choices() -> list[tuple[str, str]]:
    return [(verb, verb) for verb in sorted(VERBS)]

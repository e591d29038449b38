"""Signal receivers connected in ReviewsConfig.ready(): relationships never imports reviews."""

from __future__ import annotations

from relationships.models import Stage
from reviews import services


def open_review_on_entering_review(sender, *, relationship, to_stage, by=None, **kwargs) -> None:
    """A relationship moving into the review stage opens a review if none is open."""
    if to_stage == Stage.REVIEW:
        services.on_relationship_entered_review(relationship=relationship, by=by)


# Saves limited to other fields (a rating, a note) cannot move the schedule.
SCHEDULE_FIELDS = {"stage", "type", "type_id", "review_cadence_days", "started_on", "ended_on"}


def keep_review_schedule_current(
    sender, *, instance, created, raw=False, update_fields=None, **kwargs
) -> None:
    """Cadence, type, start or end changed: keep the open review and next_review_on current.

    The service writes with queryset updates (no post_save), so this cannot recurse.
    """
    if raw:  # loaddata: the fixture holds the schedule already
        return
    if update_fields is not None and not SCHEDULE_FIELDS & set(update_fields):
        return
    services.relationship_sync_review_schedule(instance, created=created)

from __future__ import annotations

from celery import shared_task

from relationships.services import relationships_refresh_health_all


@shared_task
def refresh_health() -> int:
    """Silence lowers health even when nobody writes anything: recompute it nightly."""
    return relationships_refresh_health_all()

from __future__ import annotations

from celery import shared_task

from security.selectors import user_sessions_timed_out
from security.services import security_events_prune


@shared_task
def prune_security_log() -> dict[str, int]:
    """Daily: events older than SECURITY_LOG_RETENTION_DAYS go, and so do the rows of
    sessions the timeouts have ended. Safe to run twice."""
    events = security_events_prune()
    sessions, _ = user_sessions_timed_out().delete()
    return {"events": events, "sessions": sessions}

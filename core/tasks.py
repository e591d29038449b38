from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task
def ping() -> str:
    """A task with no side effects, used to prove a worker is consuming the broker."""
    return "pong"


@shared_task
def clear_expired_sessions() -> None:
    """Database sessions accumulate; Django leaves their clean-up to a periodic job."""
    call_command("clearsessions")

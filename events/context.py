"""Through which door a write came: the web, the API (and which token), the admin, a task.

The request middleware and the Celery task hooks set it; ``event_record`` reads it, so no
service needs a parameter for it. A ContextVar is per thread (and per asyncio task), so
gunicorn's threads never see each other's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Source:
    via: str = "system"  # web, api, admin, task, system
    token_id: int | None = None


_SYSTEM = Source()
_current: ContextVar[Source | None] = ContextVar("rapport_event_source", default=None)


def current_source() -> Source:
    return _current.get() or _SYSTEM


@contextmanager
def acting_via(via: str, token_id: int | None = None) -> Iterator[None]:
    reset = _current.set(Source(via=via, token_id=token_id))
    try:
        yield
    finally:
        _current.reset(reset)


def note_api_token(token_id: int) -> None:
    """The API authenticated a request by a personal token: its events name that token."""
    _current.set(Source(via="api", token_id=token_id))


def _via_for(request: HttpRequest) -> str:
    path = request.path_info
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class EventSourceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_via(_via_for(request)):
            return self.get_response(request)


def _task_started(**kwargs) -> None:
    kwargs["task"].request._rapport_event_source = _current.set(Source(via="task"))


def _task_finished(**kwargs) -> None:
    token = getattr(kwargs["task"].request, "_rapport_event_source", None)
    if token is not None:
        # Set in another context (a pool thread)? Then there is nothing to restore.
        with suppress(ValueError):
            _current.reset(token)


def connect_task_hooks() -> None:
    """Writes a Celery task makes are recorded as done via a task."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, dispatch_uid="events-task-started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="events-task-finished", weak=False)

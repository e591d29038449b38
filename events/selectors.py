"""Reads of the event log: the activity feeds, always scoped by accounts.permissions.

Every feed is newest first by (occurred_at, id) and paged by a keyset cursor: a page ends
with an opaque ``older`` cursor naming its last event, and the next page is everything
strictly before it. Each page costs one query (the events, with their actors joined)
whatever its length, and a new event never shifts a page already read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts import permissions
from events.models import Event
from events.vocabulary import VERBS

if TYPE_CHECKING:
    from accounts.models import User

FEED_PAGE_SIZE = 50
# Long texts (an interaction's summary) show this much; the rest unfolds on demand.
SHORT_TEXT = 140


class BadCursor(ValueError):
    """A cursor this app did not give out."""


def events_visible_to(user: User) -> QuerySet[Event]:
    return (
        Event.objects.filter(permissions.event_scope(user))
        .select_related("actor")
        .order_by("-occurred_at", "-id")
    )


def get_event_for(user: User, event_uuid) -> Event:
    """The event if the user may see it; Event.DoesNotExist otherwise (hidden = missing)."""
    return events_visible_to(user).get(uuid=event_uuid)


def relationship_feed(user: User, relationship) -> QuerySet[Event]:
    """Everything that happened on one relationship (the caller has checked it is visible;
    the scope still applies, so a feed can never show more than the user may see)."""
    return events_visible_to(user).filter(relationship_id=relationship.pk)


def stakeholder_feed(user: User, stakeholder) -> QuerySet[Event]:
    """The stakeholder's own records and those of every relationship with them the user may
    see."""
    return events_visible_to(user).filter(stakeholder_id=stakeholder.pk)


def person_feed(user: User) -> QuerySet[Event]:
    """What I did: events the user is the actor of (still scoped: a relationship made
    confidential to another team since drops out of it too)."""
    return events_visible_to(user).filter(actor_id=user.pk)


def organisation_feed(
    user: User,
    *,
    verbs: Iterable[str] = (),
    team_id: int | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    """What changed across the organisation, as far as the user may see it."""
    events = events_visible_to(user)
    verbs = list(verbs)
    if verbs:
        events = events.filter(verb__in=verbs)
    if team_id is not None:
        events = events.filter(team_id=team_id)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events


# --- Pages of a feed ---------------------------------------------------------------------


def cursor_for(event: Event) -> str:
    raw = f"{event.occurred_at.isoformat()}|{event.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        occurred_at = parse_datetime(when)
        if occurred_at is None or occurred_at.tzinfo is None:
            raise ValueError(when)
        return occurred_at, int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadCursor("Not a position this feed gave out: follow its “Older” link.") from None


@dataclass
class FeedPage:
    """One page of a feed: iterate over it for its events; ``older`` continues it."""

    events: list[Event]
    older: str | None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __bool__(self) -> bool:
        return bool(self.events)


def feed_page(
    events: QuerySet[Event], *, before: str | None = None, size: int = FEED_PAGE_SIZE
) -> FeedPage:
    """The ``size`` newest events of ``events`` strictly older than the ``before`` cursor
    (raises BadCursor for one this app did not give out). One query."""
    if before:
        occurred_at, pk = parse_cursor(before)
        events = events.filter(
            Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, id__lt=pk)
        )
    rows = list(events.order_by("-occurred_at", "-id")[: size + 1])
    page = rows[:size]
    for event in page:
        describe(event)
    return FeedPage(page, cursor_for(page[-1]) if len(rows) > size else None)


# --- What a feed entry says --------------------------------------------------------------


def _label(choices: type, value: Any) -> str:
    """The display label of a stored choice (as it read when the event was recorded)."""
    return str(dict(choices.choices).get(value, value or "—"))


def _stage(value: Any) -> str:
    from relationships.models import Stage

    return _label(Stage, value)


def _details(event: Event) -> tuple[str, str]:
    """(a one-line detail, a longer text to unfold) from the event's data."""
    data = event.data if isinstance(event.data, dict) else {}
    verb = event.verb
    if verb in ("relationship.stage_changed", "relationship.ended"):
        line = f"{_stage(data.get('from_stage'))} → {_stage(data.get('to_stage'))}"
        return line, str(data.get("note") or "")
    if verb == "interaction.logged":
        from relationships.models import Interaction

        bits = [_label(Interaction.Channel, data.get("channel"))]
        # Logged on a later day than it happened (a backlog): the entry sits at the time it
        # was logged, so it says which day it was.
        try:
            day = parse_date(str(data.get("occurred_on") or ""))
        except ValueError:
            day = None
        if day is not None and day != timezone.localdate(event.occurred_at):
            bits.append(f"on {day.day} {day:%b %Y}")
        if data.get("sentiment") is not None:
            bits.append(f"sentiment {int(data['sentiment']):+d}")
        if data.get("is_key_experience"):
            bits.append("key experience")
        return " · ".join(b for b in bits if b), str(data.get("summary") or "")
    if verb in ("commitment.created", "commitment.status_changed"):
        line = ""
        if verb == "commitment.status_changed":
            from relationships.models import Commitment

            status = Commitment.Status
            line = f"{_label(status, data.get('from'))} → {_label(status, data.get('to'))}"
        elif data.get("due_on"):
            line = f"due {data['due_on']}"
        return line, str(data.get("description") or "")
    if verb == "value_record.created":
        from relationships.models import ValueRecord

        kind = _label(ValueRecord.Kind, data.get("kind"))
        amount = (
            f" {data['amount']} {data.get('unit') or ''}".rstrip() if data.get("amount") else ""
        )
        return f"{kind}{amount}", str(data.get("note") or "")
    if verb == "review.completed":
        ratings = data.get("ratings") or {}
        overall = ratings.get("overall") if isinstance(ratings, dict) else None
        line = f"decision: {data.get('decision') or '—'}"
        if overall:
            line += f" · overall {overall}/5"
        return line, ""
    if verb == "feedback.received":
        return f"{data.get('satisfaction', '—')}/10 from {data.get('contact', '—')}", ""
    if verb == "feedback.requested":
        return f"from {data.get('contact', '—')}", ""
    if verb == "relationship.rated":
        return f"{data.get('rating', '—')}/5", str(data.get("note") or "")
    if verb == "relationship.updated" and isinstance(data.get("changes"), dict | list):
        changes = data["changes"]
        names = changes.keys() if isinstance(changes, dict) else changes
        return ", ".join(str(name).replace("_", " ") for name in names), ""
    return "", ""


def describe(event: Event) -> Event:
    """Set what the feed shows beside the event's time and actor: ``sentence`` (the
    vocabulary's words), ``detail`` (one line) and ``text`` (shown folded when long)."""
    event.sentence = VERBS.get(event.verb, event.verb)
    event.detail, text = _details(event)
    if text and text.strip() in (event.subject_label or ""):
        text = ""  # the subject's name already says it (a commitment is its description)
    event.text = text
    event.text_is_long = len(text) > SHORT_TEXT
    return event

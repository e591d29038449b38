"""Cached dashboard figures that only the events touching them make stale.

The tallies (dashboard.models) answer most figures in a few milliseconds. The rest read
rows that change rarely (value records, completed reviews and feedback, the relationships'
dates, teams and managers), so they are cached, each under the versions of the *topics* it
reads. After a transaction commits, the events it recorded bump the versions of their
topics (``bump_topics_of``, an events consumer): logging an interaction, the most common
write, makes none of these figures stale, while recording value makes only the value
figures stale. Sign-ins, history rows and other writes without a dashboard topic bump
nothing. The key also holds what else the figure depends on: whose scope (everything, or
this user and their teams), the filters and the day. Writes that record no event (the
admin's edits of teams or types) are bounded by the expiry.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache

from accounts import permissions
from core import dbrouting

# Which events make which topics stale.
TOPIC_VERBS: dict[str, frozenset[str]] = {
    # Whether, where and whose a relationship is: its slice of the filters and the scope,
    # its stage and dates, its stakeholder's name and category.
    "relationships": frozenset(
        {
            "relationship.created",
            "relationship.updated",
            "relationship.stage_changed",
            "relationship.ended",
            "relationships.imported",
            "stakeholder.updated",
            "stakeholder.merged",
            "stakeholders.imported",
            "category.saved",
            "category.deleted",
        }
    ),
    "value": frozenset({"value_record.created"}),
    "satisfaction": frozenset({"review.completed", "feedback.received"}),
    "reviews": frozenset(
        {"review.opened", "review.scheduled", "review.completed", "review.overdue"}
    ),
    # Relationships nobody manages, lowest health first: health moves with almost any event
    # on a relationship, so any event on an unmanaged one (see bump_topics_of).
    "unmanaged": frozenset(),
}
EXPIRY_SECONDS = 10 * 60
_PREFIX = "dashboard:topic:"


def _fresh_version() -> str:
    # When it was made leads: a figure computed from a read replica may be cached under it
    # only if the replica holds every write up to then (core.dbrouting).
    return f"{time.time():.6f}-{uuid.uuid4().hex[:12]}"


def _made_at(version: str) -> float:
    try:
        return float(version.partition("-")[0])
    except ValueError:
        return time.time()


def _versions(topics: Iterable[str]) -> tuple[str, ...]:
    keys = [_PREFIX + topic for topic in sorted(topics)]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:  # first use, or the cache was emptied: writes may be recent
            cache.add(key, _fresh_version(), None)
            found[key] = cache.get(key) or _fresh_version()
    return tuple(found[key] for key in keys)


def bump(topics: Iterable[str]) -> None:
    for topic in topics:
        cache.set(_PREFIX + topic, _fresh_version(), None)


def bump_topics_of(events: list) -> None:
    """The events consumer (of every verb): bump every topic these events touch."""
    verbs = {event.verb for event in events}
    topics = {topic for topic, topic_verbs in TOPIC_VERBS.items() if verbs & topic_verbs}
    if any(
        event.relationship_id is not None
        and event.relationship is not None
        and event.relationship.manager_id is None
        for event in events
    ):
        topics.add("unmanaged")
    if topics:
        bump(topics)


def _viewer(user) -> tuple:
    # A user's scope follows their teams (accounts.permissions), so the key names them.
    if permissions.reads_everything(user):
        return ("all",)
    return (user.pk, tuple(sorted(permissions.team_ids(user))))


def cached_figure(*topics: str) -> Callable:
    """Cache a selector ``(user, filters, ...) -> figure`` under its topics' versions."""
    unknown = set(topics) - set(TOPIC_VERBS)
    if unknown:
        raise ValueError(f"Unknown dashboard topics: {sorted(unknown)}")

    def decorate(selector: Callable) -> Callable:
        name = f"{selector.__module__}.{selector.__qualname__}"

        @functools.wraps(selector)
        def cached(user, filters, *args, **kwargs):
            parts = (
                name,
                _versions(topics),
                _viewer(user),
                sorted(filters.params().items()),
                str(filters.today),
                args,
                sorted(kwargs.items()),
            )
            key = "dashboard:figure:" + hashlib.sha256(repr(parts).encode()).hexdigest()
            value = cache.get(key)
            if value is None:
                # Cached until a topic moves: from a replica, only once it holds every
                # write up to the versions' making (a lagging one would outlive its lag).
                fresh_since = max(_made_at(version) for version in parts[1])
                with dbrouting.reads_fresh_since(fresh_since):
                    value = selector(user, filters, *args, **kwargs)
                cache.set(key, value, EXPIRY_SECONDS)
            return value

        cached.uncached = selector
        return cached

    return decorate

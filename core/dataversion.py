"""One version stamp for "the data behind the figures", bumped by every write.

Expensive read-only summaries (the executive dashboard) are cached under the current
stamp: any save, delete or many-to-many change of a model in the watched apps gives a new
stamp, so a cached summary is never served after the data it was computed from changed.
Writes that bypass the models' signals (bulk updates) call ``bump()`` themselves; a short
expiry on what is cached bounds anything missed. A cache that is down only costs the
recomputation.
"""

from __future__ import annotations

import hashlib
import uuid

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

KEY = "core:data-version"
WATCHED_APPS = frozenset({"accounts", "stakeholders", "relationships", "plans", "reviews"})


def current() -> str:
    version = cache.get(KEY)
    if version is None:
        cache.add(KEY, uuid.uuid4().hex, None)
        version = cache.get(KEY) or "uncached"
    return version


def _new_version() -> None:
    cache.set(KEY, uuid.uuid4().hex, None)


def bump() -> None:
    """Now, and again after the transaction commits: a request reading in between would
    otherwise cache figures computed from the data as it was before the commit."""
    _new_version()
    transaction.on_commit(_new_version)


def _on_write(sender, **kwargs) -> None:
    if sender._meta.app_label in WATCHED_APPS:
        bump()


def connect() -> None:
    post_save.connect(_on_write, dispatch_uid="core-data-version-save")
    post_delete.connect(_on_write, dispatch_uid="core-data-version-delete")
    m2m_changed.connect(_on_write, dispatch_uid="core-data-version-m2m")


def cached(name: str, parts: tuple, compute, timeout: int = 10 * 60):
    """``compute()``'s result, cached under the current data version and ``parts`` (which
    must name everything else the result depends on: the viewer, filters, the day …)."""
    signature = hashlib.sha256(repr(parts).encode()).hexdigest()
    key = f"{name}:{current()}:{signature}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout)
    return value

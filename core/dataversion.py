"""One version stamp for "the data behind the figures", bumped by every write.

Expensive read-only summaries (the executive dashboard) are cached under the current
stamp: any save, delete or many-to-many change of a model in the watched apps gives a new
stamp (once per transaction, not once per row), so a cached summary is never served after
the data it was computed from changed.
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
from simple_history.models import HistoricalChanges

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


# Writes that cannot change a cached summary, in the watched apps: API token and recovery
# code bookkeeping, the security policy, reminders and digests sent. (Sessions, sign-in
# attempts, the security log, events and notifications live in apps not watched at all.)
UNWATCHED_MODELS = frozenset(
    {"accounts.apitoken", "accounts.recoverycode", "accounts.securitypolicy"}
    | {"reviews.reminder", "reviews.digest"}
)


def _transaction_of(connection) -> object | None:
    """What stands for the transaction a write belongs to; None outside one.

    In production that is the transaction itself (its list of on-commit callbacks, a new
    list once it commits or rolls back). Under a test's own transaction, which never
    commits, the outermost block a service opened (its savepoint) stands for it instead.
    """
    for index, block in enumerate(connection.atomic_blocks):
        if getattr(block, "_from_testcase", False):
            continue
        return connection.savepoint_ids[index - 1] if index else connection.run_on_commit
    return None


def bump() -> None:
    """Now, and again after the transaction commits (a request reading in between would
    otherwise cache figures computed from the data as it was before the commit); once per
    transaction, however many rows it writes."""
    connection = transaction.get_connection()
    current_transaction = _transaction_of(connection)
    if current_transaction is None:
        _new_version()
        return
    if getattr(connection, "_rapport_data_version_bumped_in", None) is current_transaction:
        return
    connection._rapport_data_version_bumped_in = current_transaction
    _new_version()
    transaction.on_commit(_new_version)


def _on_write(sender, **kwargs) -> None:
    meta = sender._meta
    if meta.app_label not in WATCHED_APPS or meta.label_lower in UNWATCHED_MODELS:
        return
    if issubclass(sender, HistoricalChanges):  # a copy of a row whose own save bumps
        return
    if kwargs.get("action", "post_").startswith("pre_"):  # m2m: the post_ signal follows
        return
    if kwargs.get("update_fields") == frozenset({"last_login"}):  # signing in
        return
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

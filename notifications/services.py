"""Writes to notifications. Reminders (reviews app), views and admin call these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import PermissionRefused
from notifications.models import Notification, NotificationPreference

# What a repeat about the same subject refreshes.
REFRESHED = ["kind", "title", "body", "url", "created_at"]


def _fields(*, kind: str, title: str, body: str, url: str, now: datetime) -> dict:
    return {"kind": kind, "title": title[:200], "body": body, "url": url[:300], "created_at": now}


@transaction.atomic
def notification_create(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    key: str = "",
) -> Notification:
    """Add a notification; with ``key``, refresh the recipient's unread one about the same
    subject instead (tomorrow's "still overdue" replaces today's rather than stacking)."""
    fields = _fields(kind=kind, title=title, body=body, url=url, now=timezone.now())
    if key:
        existing = (
            Notification.objects.select_for_update()
            .filter(recipient=recipient, key=key, read_at__isnull=True)
            .first()
        )
        if existing is not None:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save(update_fields=list(fields))
            return existing
    try:
        # Race: two deliveries about the same subject at once; the partial unique constraint
        # lets one insert win, the other refreshes the winner.
        with transaction.atomic():
            return Notification.objects.create(recipient=recipient, key=key, **fields)
    except IntegrityError:
        existing = Notification.objects.get(recipient=recipient, key=key, read_at__isnull=True)
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save(update_fields=list(fields))
        return existing


@dataclass(frozen=True)
class NotificationSpec:
    """One notification for ``notifications_create``: the arguments of ``notification_create``
    with the recipient as an id."""

    recipient_id: int
    kind: str
    title: str
    body: str = ""
    url: str = ""
    key: str = ""


@transaction.atomic
def notifications_create(specs: Iterable[NotificationSpec]) -> int:
    """Many notifications in a few queries (the reminder run's batches), each added as
    ``notification_create`` would add it: with a key, the recipient's unread one about the
    same subject is refreshed instead. Returns how many were added or refreshed."""
    now = timezone.now()
    plain: list[NotificationSpec] = []
    # Two about one subject in one call: the later wins, as two calls in a row would leave it.
    keyed: dict[tuple[int, str], NotificationSpec] = {}
    for spec in specs:
        if spec.key:
            keyed[(spec.recipient_id, spec.key)] = spec
        else:
            plain.append(spec)
    unread: dict[tuple[int, str], Notification] = {}
    if keyed:
        # Recipients × keys may hold a few more than the pairs asked about: they are only
        # locked, briefly, and left alone.
        unread = {
            (n.recipient_id, n.key): n
            for n in Notification.objects.select_for_update().filter(
                recipient_id__in={recipient_id for recipient_id, _ in keyed},
                key__in={key for _, key in keyed},
                read_at__isnull=True,
            )
        }
    added: list[Notification] = []
    refreshed: list[Notification] = []
    for spec in [*plain, *keyed.values()]:
        fields = _fields(kind=spec.kind, title=spec.title, body=spec.body, url=spec.url, now=now)
        existing = unread.get((spec.recipient_id, spec.key)) if spec.key else None
        if existing is None:
            added.append(Notification(recipient_id=spec.recipient_id, key=spec.key, **fields))
            continue
        for name, value in fields.items():
            setattr(existing, name, value)
        refreshed.append(existing)
    if refreshed:
        Notification.objects.bulk_update(refreshed, REFRESHED, batch_size=200)
    if not added:
        return len(refreshed)
    try:
        # Race: a concurrent delivery added an unread one about the same subject since the
        # read above; the partial unique constraint refuses this insert, and then each of
        # ours, one at a time (notification_create), refreshes the one it collides with.
        with transaction.atomic():
            Notification.objects.bulk_create(added, batch_size=500)
    except IntegrityError:
        recipients = User.objects.in_bulk({n.recipient_id for n in added})
        for n in added:
            notification_create(
                recipient=recipients[n.recipient_id],
                kind=n.kind,
                title=n.title,
                body=n.body,
                url=n.url,
                key=n.key,
            )
    return len(added) + len(refreshed)


@transaction.atomic
def notification_mark_read(*, notification: Notification, by: User) -> Notification:
    if notification.recipient_id != by.pk:
        raise PermissionRefused("This notification is someone else's.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, by: User) -> int:
    return Notification.objects.filter(recipient=by, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def preference_update(
    *, user: User, email_enabled: bool, digest_enabled: bool, by: User
) -> NotificationPreference:
    if user.pk != by.pk:
        raise PermissionRefused("You can only change your own preferences.")
    # Race: two saves of a first preference at once; the one-to-one key makes one insert.
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    preference.email_enabled = email_enabled
    preference.digest_enabled = digest_enabled
    preference.save()
    return preference

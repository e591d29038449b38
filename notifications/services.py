"""Writes to notifications. Reminders (reviews app), views and admin call these."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import PermissionRefused
from notifications.models import Notification, NotificationPreference


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
    now = timezone.now()
    fields = {"kind": kind, "title": title[:200], "body": body, "url": url[:300], "created_at": now}
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

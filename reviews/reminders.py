"""The reminder pipeline run by the hourly beat task (reviews.tasks.run_reminders).

Everything is derived from database state, so a run after any outage sends what is owed:

1. ``reminders_scan`` inserts the reminders owed today — reviews coming up (within
   REMINDER_LOOKAHEAD_DAYS), due today, overdue; reviews overdue by more than
   REVIEW_ESCALATION_DAYS escalated to the team's executives (admins if it has none); our
   commitments past due — with ``bulk_create(ignore_conflicts=True)``: the unique constraints
   on (kind, subject, recipient, day) make a second run, a retried run or a concurrent run
   insert nothing new. Overdue is one reminder per day, so a scan after three days of
   downtime owes today's only: no flood. It reads only open reviews due by the horizon and
   open commitments past due (indexed), in id-ordered batches: its cost follows the number
   of due items, not the number of relationships.
2. ``reminders_deliver`` claims undelivered rows in batches with
   ``select_for_update(skip_locked=True)`` and creates the batch's in-app notifications in
   the same transaction as it stamps ``notified_at``: a crash rolls both back, a concurrent
   run skips the locked rows. A batch costs a few queries whatever its size (one INSERT of
   its notifications, one UPDATE of its stamps, one of its events); ``bench/reminders.py``
   times the first run on the large dataset.
3. ``escalations_email`` sends escalations immediately (one mail each); ``digests_send``
   sends each user one digest a day (after REMINDER_DIGEST_HOUR) of their other reminders.
   Both stamp ``emailed_at`` before sending (at most once); a failed send un-stamps so the
   next run retries. The Digest row's unique (user, day) key makes the digest one a day.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, Q, Value, When
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Role, User
from accounts.permissions import relationship_seen_by
from core.links import absolute_url
from events.services import EventSpec, events_record
from notifications.selectors import preferences_for_users
from notifications.services import NotificationSpec, notifications_create
from relationships.models import ACTIVE_STAGES, Commitment
from reviews import links
from reviews.models import Digest, Reminder, Review

log = logging.getLogger(__name__)

SCAN_BATCH = 1000
CLAIM_BATCH = 200

Kind = Reminder.Kind


def lookahead_days() -> int:
    return int(getattr(settings, "REMINDER_LOOKAHEAD_DAYS", 7))


def escalation_days() -> int:
    return int(getattr(settings, "REVIEW_ESCALATION_DAYS", 14))


def digest_hour() -> int:
    return int(getattr(settings, "REMINDER_DIGEST_HOUR", 7))


# --- 1. Scan --------------------------------------------------------------------------


def _escalation_targets() -> tuple[dict[int, set[int]], set[int]]:
    """Active executives per team, and active admins (for teams without an executive)."""
    by_team: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in User.objects.filter(
        role=Role.EXECUTIVE, is_active=True, teams__isnull=False
    ).values_list("id", "teams"):
        by_team[team_id].add(user_id)
    admins = set(User.objects.filter(role=Role.ADMIN, is_active=True).values_list("id", flat=True))
    return by_team, admins


def _insert(rows: list[Reminder]) -> int:
    if not rows:
        return 0
    with transaction.atomic():
        # Race: concurrent/retried scans insert the same reminders; the unique constraints
        # drop the duplicates instead of failing.
        Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def reminders_scan(*, today: date | None = None) -> int:
    """Insert today's owed reminders; returns how many were considered (not necessarily new)."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=lookahead_days())
    escalate_after = escalation_days()
    executives, admins = _escalation_targets()
    considered = 0

    reviews = Review.objects.filter(
        status=Review.Status.SCHEDULED,
        due_on__lte=horizon,
        relationship__stage__in=ACTIVE_STAGES,
    ).order_by("id")
    last_id = 0
    while True:
        batch = list(
            reviews.filter(id__gt=last_id).values_list(
                "id",
                "due_on",
                "relationship__manager_id",
                "relationship__manager__is_active",
                "relationship__team_id",
            )[:SCAN_BATCH]
        )
        if not batch:
            break
        last_id = batch[-1][0]
        asked: dict[int, set[int]] = defaultdict(set)
        for review_id, user_id in Review.reviewers.through.objects.filter(
            review_id__in=[row[0] for row in batch], user__is_active=True
        ).values_list("review_id", "user_id"):
            asked[review_id].add(user_id)
        rows = []
        for review_id, due_on, manager_id, manager_active, team_id in batch:
            recipients = set(asked[review_id])
            if manager_id and manager_active:
                recipients.add(manager_id)
            if due_on > today:
                kind, for_date = Kind.REVIEW_UPCOMING, due_on
            elif due_on == today:
                kind, for_date = Kind.REVIEW_DUE, today
            else:
                kind, for_date = Kind.REVIEW_OVERDUE, today
            rows += [
                Reminder(kind=kind, review_id=review_id, recipient_id=uid, for_date=for_date)
                for uid in recipients
            ]
            if (today - due_on).days > escalate_after:
                targets = executives.get(team_id) or admins
                rows += [
                    Reminder(
                        kind=Kind.REVIEW_ESCALATED,
                        review_id=review_id,
                        recipient_id=uid,
                        for_date=due_on,
                    )
                    for uid in targets
                ]
        considered += _insert(rows)

    commitments = (
        Commitment.objects.filter(
            status=Commitment.Status.OPEN,
            direction=Commitment.Direction.OURS,
            due_on__lt=today,
            relationship__stage__in=ACTIVE_STAGES,
        )
        # An owner who has since lost sight of the relationship (moved out of its team, a
        # confidential one) must not be told what was promised in it.
        .annotate(
            owner_sees=Case(
                When(relationship_seen_by("owner", "relationship__"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("id")
    )
    last_id = 0
    while True:
        batch = list(
            commitments.filter(id__gt=last_id).values_list(
                "id",
                "owner_id",
                "owner_sees",
                "relationship__manager_id",
                "relationship__manager__is_active",
            )[:SCAN_BATCH]
        )
        if not batch:
            break
        last_id = batch[-1][0]
        rows = []
        for commitment_id, owner_id, owner_sees, manager_id, manager_active in batch:
            # The owner sees it through; without an (active, still entitled) owner, the
            # relationship manager.
            recipient = owner_id if owner_sees else (manager_id if manager_active else None)
            if recipient:
                rows.append(
                    Reminder(
                        kind=Kind.COMMITMENT_OVERDUE,
                        commitment_id=commitment_id,
                        recipient_id=recipient,
                        for_date=today,
                    )
                )
        considered += _insert(rows)
    return considered


# --- 2. In-app delivery ---------------------------------------------------------------


# What is_current(), describe() and the review's event read of a reminder's subject (the
# stakeholder names the reminder, the type names the review): a backlog is thousands of
# rows, so only these columns are loaded. A field read that is missing here costs a query
# per reminder, which the delivery's query-count test catches.
DESCRIBED_BY = (
    "review__relationship__stakeholder",
    "review__relationship__type",
    "commitment__relationship__stakeholder",
)
DESCRIBED_FIELDS = (
    *(field.name for field in Reminder._meta.concrete_fields),
    "review__status",
    "review__due_on",
    "review__relationship__team_id",
    "review__relationship__stakeholder__name",
    "review__relationship__type__name",
    "commitment__status",
    "commitment__description",
    "commitment__due_on",
    "commitment__relationship__stakeholder__name",
)


def _claim(queryset, limit: int, *, with_email: bool = False) -> list[Reminder]:
    """Lock up to ``limit`` of these rows, skipping those a concurrent run holds, then load
    them with what describes them (and the recipient's address ``with_email``). The lock
    reads the reminder rows alone: joined and sorted in one query, every waiting row would
    be read again for each batch."""
    ids = list(
        queryset.select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return list(
        Reminder.objects.filter(pk__in=ids)
        .select_related(*DESCRIBED_BY, *(["recipient"] if with_email else []))
        .only(*DESCRIBED_FIELDS, *(["recipient__email"] if with_email else []))
        .order_by("id")
    )


def is_current(reminder: Reminder) -> bool:
    """Still worth saying: the review is still open, the commitment still open."""
    if reminder.review_id:
        return reminder.review.status == Review.Status.SCHEDULED
    return reminder.commitment.status == Commitment.Status.OPEN


def describe(reminder: Reminder, today: date) -> dict:
    """Title, body and link of a reminder, for the notification and the e-mails."""
    if reminder.review_id:
        review = reminder.review
        name = str(review.relationship.stakeholder)
        due = f"{review.due_on:%a %d %b %Y}"
        late = (today - review.due_on).days
        titles = {
            Kind.REVIEW_UPCOMING: f"Review of {name} due {due}",
            Kind.REVIEW_DUE: f"Review of {name} is due today",
            Kind.REVIEW_OVERDUE: f"Review of {name} is overdue",
            Kind.REVIEW_ESCALATED: (
                f"Escalation: the review of {name} is {late} day{pluralize(late)} overdue"
            ),
        }
        body = f"Due {due}." if late <= 0 else f"Due {due}: {late} day{'s' * (late != 1)} late."
        path = links.review_path(review.pk)
    else:
        commitment = reminder.commitment
        name = str(commitment.relationship.stakeholder)
        titles = {Kind.COMMITMENT_OVERDUE: f"Our commitment to {name} is past due"}
        body = f"“{commitment.description[:120]}”, due {commitment.due_on:%a %d %b %Y}."
        path = links.relationship_path(commitment.relationship_id)
    return {"title": titles[reminder.kind], "body": body, "path": path, "name": name}


OVERDUE_NAMESPACE = uuid.UUID("5d0a3c52-43f1-4f0e-9a57-2b0f8c7b6e11")


def overdue_event_uuid(review: Review) -> uuid.UUID:
    return uuid.uuid5(OVERDUE_NAMESPACE, f"review.overdue:{review.pk}:{review.due_on}")


def _stamp(reminders: list[Reminder], **values) -> None:
    """One UPDATE for a batch (its rows are locked by the claim)."""
    if reminders:
        Reminder.objects.filter(pk__in=[r.pk for r in reminders]).update(**values)


def reminders_deliver(*, today: date | None = None, batch: int = CLAIM_BATCH) -> int:
    """Turn undelivered reminders into in-app notifications, each exactly once. A batch is
    claimed, notified, stamped and its events recorded in one transaction, in a few
    queries whatever its size."""
    today = today or timezone.localdate()
    delivered = 0
    while True:
        with transaction.atomic():
            claimed = _claim(Reminder.objects.filter(notified_at__isnull=True), batch)
            current = [r for r in claimed if is_current(r)]
            completed = [r for r in claimed if not is_current(r)]
            notifications: list[NotificationSpec] = []
            overdue: list[EventSpec] = []
            for reminder in current:
                text = describe(reminder, today)
                notifications.append(
                    NotificationSpec(
                        recipient_id=reminder.recipient_id,
                        kind=reminder.kind,
                        title=text["title"],
                        body=text["body"],
                        url=text["path"],
                        key=f"{reminder.subject_key}:{reminder.kind}",
                    )
                )
                if reminder.kind == Kind.REVIEW_OVERDUE:
                    review = reminder.review
                    overdue.append(
                        EventSpec(
                            verb="review.overdue",
                            subject=review,
                            data={"due_on": review.due_on.isoformat()},
                            # Once per review and due date, however many managers are told.
                            uuid=overdue_event_uuid(review),
                        )
                    )
            notifications_create(notifications)
            _stamp(claimed, notified_at=timezone.now())
            # Completed meanwhile: nothing to say, now or in an e-mail.
            _stamp(completed, email_skipped=True)
            events_record(overdue)
            delivered += len(current)
        if len(claimed) < batch:
            return delivered


# --- 3. E-mail ------------------------------------------------------------------------


def _wants(preference, *, digest: bool) -> bool:
    return preference.email_enabled and (preference.digest_enabled or not digest)


def _release(reminder_ids: list[int]) -> None:
    """A send failed: un-stamp so the next run tries again."""
    Reminder.objects.filter(pk__in=reminder_ids).update(emailed_at=None)


def escalations_email(*, today: date | None = None) -> int:
    """Escalations are e-mailed at once (never waiting for the digest), one mail per recipient
    per run listing every newly escalated review: after downtime a backlog arrives as one
    message, not as a flood."""
    today = today or timezone.localdate()
    pending = Reminder.objects.filter(
        kind=Kind.REVIEW_ESCALATED,
        notified_at__isnull=False,
        emailed_at__isnull=True,
        email_skipped=False,
    )
    outgoing: dict[int, list[Reminder]] = defaultdict(list)
    while True:
        with transaction.atomic():
            # Stamped before sending, under the row locks: a concurrent run skips these rows.
            claimed = _claim(pending, CLAIM_BATCH, with_email=True)
            preferences = preferences_for_users({r.recipient_id for r in claimed})
            emailed, skipped = [], []
            for reminder in claimed:
                if (
                    not is_current(reminder)
                    or not reminder.recipient.email
                    or not _wants(preferences[reminder.recipient_id], digest=False)
                ):
                    skipped.append(reminder)
                    continue
                emailed.append(reminder)
                outgoing[reminder.recipient_id].append(reminder)
            _stamp(emailed, emailed_at=timezone.now())
            _stamp(skipped, email_skipped=True)
        if len(claimed) < CLAIM_BATCH:
            break
    sent = 0
    for reminders in outgoing.values():
        items = [_email_item(r, today) for r in reminders]
        subject = (
            items[0]["title"]
            if len(items) == 1
            else f"Escalation: {len(items)} reviews are overdue by more than "
            f"{escalation_days()} day{pluralize(escalation_days())}"
        )
        try:
            send_mail(
                subject=subject,
                message=render_to_string("reviews/email/escalation.txt", {"items": items}),
                from_email=None,
                recipient_list=[reminders[0].recipient.email],
            )
            sent += 1
        except Exception:
            log.exception("Escalation e-mail to %s failed; will retry", reminders[0].recipient_id)
            _release([r.pk for r in reminders])
    return sent


SECTIONS = [
    (Kind.REVIEW_OVERDUE, "Overdue reviews"),
    (Kind.REVIEW_DUE, "Reviews due today"),
    (Kind.REVIEW_UPCOMING, "Reviews coming up"),
    (Kind.COMMITMENT_OVERDUE, "Our commitments past due"),
]


def _email_item(reminder: Reminder, today: date) -> dict:
    text = describe(reminder, today)
    return {**text, "link": absolute_url(text["path"])}


def digest_items(reminders: list[Reminder], today: date) -> list[dict]:
    """One line per subject (the newest reminder about it wins), grouped in SECTIONS order."""
    latest: dict[str, Reminder] = {}
    for reminder in sorted(reminders, key=lambda r: (r.for_date, r.pk)):
        latest[reminder.subject_key] = reminder
    sections = []
    for kind, heading in SECTIONS:
        items = [_email_item(r, today) for r in latest.values() if r.kind == kind]
        if items:
            sections.append({"heading": heading, "items": sorted(items, key=lambda i: i["name"])})
    return sections


def digests_send(*, today: date | None = None, now=None) -> int:
    """Each user's one digest of the day, once it is past REMINDER_DIGEST_HOUR locally."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    if timezone.localtime(now).hour < digest_hour():
        return 0
    pending = Reminder.objects.filter(
        ~Q(kind=Kind.REVIEW_ESCALATED),
        notified_at__isnull=False,
        emailed_at__isnull=True,
        email_skipped=False,
    )
    recipient_ids = sorted(set(pending.values_list("recipient_id", flat=True)))
    preferences = preferences_for_users(recipient_ids)
    users = User.objects.in_bulk(recipient_ids)
    sent = 0
    for recipient_id in recipient_ids:
        mine = pending.filter(recipient_id=recipient_id)
        with transaction.atomic():
            recipient = users.get(recipient_id)
            if not (
                recipient is not None
                and recipient.is_active
                and recipient.email
                and _wants(preferences[recipient_id], digest=True)
            ):
                mine.update(email_skipped=True)
                continue
            try:
                # Race: two runs (or beat catching up) building the same user's digest: the
                # unique (user, day) key lets exactly one through.
                with transaction.atomic():
                    digest = Digest.objects.create(recipient_id=recipient_id, for_date=today)
            except IntegrityError:
                continue  # already sent today; the rest waits for tomorrow's
            claimed = _claim(mine, 10_000)
            current = [r for r in claimed if is_current(r)]
            _stamp(current, emailed_at=timezone.now())
            _stamp([r for r in claimed if not is_current(r)], email_skipped=True)
            digest.items = len({r.subject_key for r in current})
            digest.save(update_fields=["items"])
        if not current:
            Digest.objects.filter(pk=digest.pk).delete()
            continue
        sections = digest_items(current, today)
        try:
            send_mail(
                subject=f"Rapport: {digest.items} thing{'s' * (digest.items != 1)} need you",
                message=render_to_string(
                    "reviews/email/digest.txt",
                    {
                        "recipient": recipient,
                        "sections": sections,
                        "today": today,
                        "reviews_link": absolute_url(links.reviews_index_path()),
                        "preferences_link": absolute_url("/notifications/preferences/"),
                    },
                ),
                from_email=None,
                recipient_list=[recipient.email],
            )
            sent += 1
        except Exception:
            log.exception("Digest to user %s failed; will retry", recipient_id)
            with transaction.atomic():
                Digest.objects.filter(pk=digest.pk).delete()
                _release([r.pk for r in current])
    return sent


def reminders_run(*, now=None) -> dict[str, int]:
    """The whole pipeline; what the beat task runs. Safe to run twice, concurrently, late."""
    from reviews.services import feedback_requests_send_pending

    now = now or timezone.now()
    today = timezone.localdate(now)
    return {
        "considered": reminders_scan(today=today),
        "notified": reminders_deliver(today=today),
        "escalations": escalations_email(today=today),
        "digests": digests_send(today=today, now=now),
        "feedback_sent": feedback_requests_send_pending(),
    }

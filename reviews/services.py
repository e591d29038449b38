"""Every write to reviews and feedback. Views, the API, admin and tasks call these.

The schedule rule ("next review date always current"):
  cadence date = anchor + effective cadence (days), where the anchor is the latest completed
  review's date, else the day the relationship started (left Identify), else its creation day.
  Cadences are in days, so month ends need no special case (31 Jan + 30 days = 2 Mar, or
  1 Mar in a leap year). Every active relationship has exactly one open (scheduled) review;
  its due date follows the cadence date unless someone asked for it now (``on_demand``), and
  ``Relationship.next_review_on`` always equals that open review's due date (None once ended).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, User
from core.errors import PermissionRefused, RuleViolation
from core.limits import FEEDBACK_MESSAGE, check_length, length_problem
from core.links import absolute_url
from events.services import EventSpec, event_record, events_record
from relationships import services as relationship_services
from relationships.models import ACTIVE_STAGES, Relationship, Stage
from reviews import links
from reviews.models import (
    RATING_QUESTIONS,
    FeedbackRequest,
    FeedbackResponse,
    Review,
    hash_nonce,
)
from stakeholders.models import Contact

log = logging.getLogger(__name__)

FEEDBACK_SALT = "reviews.feedback"


def _today() -> date:
    # "Today" is the date in settings.TIME_ZONE, not UTC: at 23:30 UTC in summer it is
    # already tomorrow in London.
    return timezone.localdate()


def _stamp(instance, by: User | None) -> None:
    instance._history_user = by


# --- Schedule -------------------------------------------------------------------------


def next_review_date(anchor: date, cadence_days: int) -> date:
    return anchor + timedelta(days=cadence_days)


def cadence_anchor(relationship: Relationship, *, skip_history: bool = False) -> date:
    if not skip_history:
        last = (
            Review.objects.filter(relationship=relationship, status=Review.Status.COMPLETED)
            .order_by("-completed_on", "-id")
            .values_list("completed_on", flat=True)
            .first()
        )
        if last:
            return last
    if relationship.started_on:
        return relationship.started_on
    created = relationship.created_at or timezone.now()
    return timezone.localdate(created)


# The editable relationship fields the schedule depends on (the stage, start and end only
# change through the lifecycle moves): an edit touching one of them re-syncs the schedule.
SCHEDULE_FIELDS = frozenset({"type", "review_cadence_days"})


def relationship_sync_review_schedule(
    relationship: Relationship,
    *,
    created: bool = False,
    completed_on: date | None = None,
    save: bool = True,
) -> Review | None:
    """Make the open review and ``next_review_on`` agree with the cadence rule (idempotent).

    Called once per write that can move the schedule, inside that write's transaction and
    with the relationship row locked (or just created): by ``workflows.lifecycle`` after a
    relationship is opened, edited or moved, and by ``review_complete`` at its end.
    ``created``: the relationship is new (no history, no open review yet). ``completed_on``:
    its open review was just completed that day, which anchors the next one (none is open).
    ``save=False``: ``next_review_on`` is only set on the object, for the caller to write
    with its own UPDATE. Writes go through queryset updates, so simple_history records no
    schedule-only rows.
    """
    if relationship.stage == Stage.ENDED:
        if not created:
            Review.objects.filter(relationship=relationship, status=Review.Status.SCHEDULED).update(
                status=Review.Status.CANCELLED
            )
        if relationship.next_review_on is not None and save:
            Relationship.objects.filter(pk=relationship.pk).update(next_review_on=None)
        relationship.next_review_on = None
        return None

    anchor = completed_on or cadence_anchor(relationship, skip_history=created)
    due = next_review_date(anchor, relationship.effective_review_cadence_days)
    review = None
    if not created and completed_on is None:
        review = Review.objects.filter(
            relationship=relationship, status=Review.Status.SCHEDULED
        ).first()
    if review is None:
        # No savepoint needed: the caller holds the relationship's row lock (or created it in
        # this transaction), and the one other writer of scheduled reviews, the backfill,
        # takes that lock too, so no open review can appear meanwhile.
        review = Review.objects.create(relationship=relationship, due_on=due)
    elif not review.on_demand and review.due_on != due:
        Review.objects.filter(pk=review.pk).update(due_on=due)
        review.due_on = due
    if relationship.next_review_on != review.due_on and save:
        Relationship.objects.filter(pk=relationship.pk).update(next_review_on=review.due_on)
    relationship.next_review_on = review.due_on
    return review


def review_schedule_follow_move(*, relationship: Relationship, by: User | None) -> Review | None:
    """After a lifecycle move (``workflows.lifecycle.relationship_move``): entering Review
    opens the review now; any other move keeps the schedule current (ending cancels it)."""
    review = relationship_sync_review_schedule(relationship)
    if relationship.stage == Stage.REVIEW:
        return on_relationship_entered_review(relationship=relationship, by=by, review=review)
    return review


def reviews_schedule_missing(batch_size: int = 1000) -> int:
    """Backfill for relationships created in bulk (demo data): no workflow ran for them, so
    give each active relationship without an open review its scheduled one. Idempotent."""
    created = 0
    pending = (
        Relationship.objects.filter(stage__in=ACTIVE_STAGES)
        .exclude(reviews__status=Review.Status.SCHEDULED)
        .select_related("type")
        .order_by("pk")
    )
    completed: dict[int, date] = {}
    batch: list[Relationship] = []

    def flush() -> int:
        ids = [r.pk for r in batch]
        completed.clear()
        for rel_id, on in (
            Review.objects.filter(relationship_id__in=ids, status=Review.Status.COMPLETED)
            .order_by("relationship_id", "completed_on")
            .values_list("relationship_id", "completed_on")
        ):
            completed[rel_id] = on
        reviews, relationships = [], []
        for rel in batch:
            anchor = completed.get(rel.pk) or cadence_anchor(rel, skip_history=True)
            rel.next_review_on = next_review_date(anchor, rel.effective_review_cadence_days)
            reviews.append(Review(relationship=rel, due_on=rel.next_review_on))
            relationships.append(rel)
        with transaction.atomic():
            # Race: a relationship being moved or edited now schedules its own review under
            # its row lock. Lock the batch, skipping rows locked now and any scheduled
            # since it was read; the partial unique constraint backs this up.
            free = set(
                Relationship.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids)
                .exclude(reviews__status=Review.Status.SCHEDULED)
                .values_list("pk", flat=True)
            )
            reviews = [r for r in reviews if r.relationship_id in free]
            relationships = [r for r in relationships if r.pk in free]
            made = Review.objects.bulk_create(reviews, ignore_conflicts=True)
            Relationship.objects.bulk_update(relationships, ["next_review_on"])
        return len(made)

    for rel in pending.iterator(chunk_size=batch_size):
        batch.append(rel)
        if len(batch) >= batch_size:
            created += flush()
            batch = []
    if batch:
        created += flush()
    return created


# --- Opening, asking, completing ------------------------------------------------------


def on_relationship_entered_review(
    *, relationship: Relationship, by: User | None, review: Review | None = None
) -> Review:
    """Entering the review stage opens a review if none is open; a scheduled one that is not
    due yet is brought forward to today (the review is happening now). The caller holds the
    relationship row lock (a move, or review_start); ``review``: the open one, if known."""
    today = _today()
    if review is None:
        review = Review.objects.filter(
            relationship=relationship, status=Review.Status.SCHEDULED
        ).first()
    if review is None:
        try:
            # Race: a concurrent save opening the scheduled review; one row survives.
            with transaction.atomic():
                review = Review(relationship=relationship, due_on=today, on_demand=True)
                _stamp(review, by)
                review.save()
                event_record(
                    verb="review.opened",
                    subject=review,
                    actor=by,
                    data={"due_on": today.isoformat()},
                )
        except IntegrityError:
            review = Review.objects.get(relationship=relationship, status=Review.Status.SCHEDULED)
    if review.due_on > today:
        review.due_on = today
        review.on_demand = True
        _stamp(review, by)
        review.save(update_fields=["due_on", "on_demand"])
    if relationship.next_review_on != review.due_on:
        Relationship.objects.filter(pk=relationship.pk).update(next_review_on=review.due_on)
        relationship.next_review_on = review.due_on
    return review


@transaction.atomic
def review_start(*, relationship: Relationship, by: User) -> Review:
    """ "Start review" on a relationship: review it now. From Build this is the lifecycle move
    to Review (which opens it); elsewhere the open review is brought forward to today."""
    if not permissions.may_change_relationship(by, relationship):
        raise PermissionRefused("You may not review this relationship.")
    if relationship.stage == Stage.ENDED:
        raise RuleViolation("relationship_ended", "This relationship has ended.")
    if relationship.stage == Stage.BUILD:
        # The move locks the row until this transaction ends; then the review opens, once.
        relationship_services.relationship_transition(
            relationship=relationship, to_stage=Stage.REVIEW, by=by, note="Review started."
        )
        return on_relationship_entered_review(relationship=relationship, by=by)
    # Lock the relationship: two clicks on "start review" must not race each other.
    locked = Relationship.objects.select_for_update().get(pk=relationship.pk)
    return on_relationship_entered_review(relationship=locked, by=by)


@transaction.atomic
def review_ask_reviewer(*, review: Review, reviewer: User, by: User) -> Review:
    if not permissions.may_change_relationship(by, review.relationship):
        raise PermissionRefused("You may not change this review.")
    if not review.is_open:
        raise RuleViolation("review_closed", "This review is closed.")
    if reviewer.role not in (Role.EXECUTIVE, Role.ADMIN) or not reviewer.is_active:
        raise RuleViolation("not_executive", "Only executives can be asked to review.", "reviewer")
    review.reviewers.add(reviewer)
    _stamp(review, by)
    review.save(update_fields=[])  # an empty save still records who asked, in the history
    event_record(
        verb="review.reviewer_asked", subject=review, actor=by, data={"reviewer": reviewer.username}
    )
    from notifications.services import notification_create

    notification_create(
        recipient=reviewer,
        kind="review_asked",
        title=f"{by} asks you to review {review.relationship}",
        body=f"Due {review.due_on:%d %b %Y}.",
        url=links.review_path(review.pk),
        key=f"review:{review.pk}:asked",
    )
    return review


def may_complete(user: User, review: Review) -> bool:
    """Those who may change the relationship, and executives asked to review it."""
    if permissions.may_change_relationship(user, review.relationship):
        return True
    return bool(
        user.is_authenticated and user.is_active and review.reviewers.filter(pk=user.pk).exists()
    )


def _combine(problems: list[RuleViolation]) -> RuleViolation:
    """All problems at once (the form shows each beside its field)."""
    combined = RuleViolation(problems[0].code, " ".join(p.message for p in problems))
    combined.problems = problems
    return combined


def _validate_completion(
    review: Review, ratings: Mapping[str, int | None], decision: str, decision_note: str
) -> list[RuleViolation]:
    problems = []
    for name, label in RATING_QUESTIONS.items():
        value = ratings.get(name)
        if not isinstance(value, int) or value not in range(1, 6):
            problems.append(
                RuleViolation("invalid_rating", f"Rate {label.lower()} from 1 to 5.", name)
            )
    if decision not in Review.Decision.values:
        problems.append(
            RuleViolation("decision_required", "Decide: grow, change or end.", "decision")
        )
    elif decision == Review.Decision.END and not decision_note.strip():
        problems.append(
            RuleViolation(
                "reason_required",
                "Ending a relationship needs a reason: say why it has not worked.",
                "decision_note",
            )
        )
    elif decision == Review.Decision.CHANGE and not decision_note.strip():
        problems.append(
            RuleViolation(
                "change_required", "Say what changes: the emerging realisation.", "decision_note"
            )
        )
    stage = review.relationship.stage
    if stage == Stage.ENDED:
        problems.append(RuleViolation("relationship_ended", "This relationship has ended."))
    elif decision == Review.Decision.CHANGE and stage in (Stage.IDENTIFY, Stage.PILOT):
        problems.append(
            RuleViolation(
                "change_not_possible",
                f"From {Stage(stage).label} the lifecycle cannot go back to Present: "
                "decide grow or end, or move the relationship on first.",
                "decision",
            )
        )
    return problems


def review_completion_problems(
    *, review: Review, ratings: Mapping[str, int | None], decision: str, decision_note: str
) -> list[RuleViolation]:
    """What review_complete would refuse, without writing: the form shows them all at once."""
    return _validate_completion(review, ratings, decision, decision_note)


@transaction.atomic
def review_complete(
    *,
    review: Review,
    ratings: Mapping[str, int | None],
    went_well: str = "",
    went_badly: str = "",
    decision: str,
    decision_note: str = "",
    by: User,
) -> Review:
    """Record the review and apply its decision through the lifecycle rules.

    grow → Build, change → Present (with what changes), end → Ended (with the reason),
    through relationships.services.relationship_moves_apply so the transition guards, log
    and events apply. A relationship still in Build when its due review is completed first
    moves Build → Review (the review is happening), then the decision applies; both moves
    are saved at once. Before Build there is nothing to go back to: grow records the review
    without a move, change is refused from Identify/Pilot, and end ends the relationship
    from any stage. An executive asked to review (who may not change the relationship)
    completes it as advice: the decision is recorded, not applied, and the manager is told.
    Then, once, the next review is scheduled from today and the health score refreshed.
    The review being completed keeps its due date: completing it is not re-opening it.
    """
    # Lock the review and its relationship in one query: two people completing it at once
    # must not both apply a decision, and the moves and the schedule below are written under
    # the relationship's lock (the same one relationship_transition takes).
    locked = (
        Review.objects.select_for_update(of=("self", "relationship"))
        .select_related("relationship__type", "relationship__stakeholder")
        .get(pk=review.pk)
    )
    relationship = locked.relationship
    if not may_complete(by, locked):
        raise PermissionRefused("You may not complete this review.")
    if not locked.is_open:
        raise RuleViolation("review_closed", "This review is already closed.")
    problems = _validate_completion(locked, ratings, decision, decision_note)
    texts = {"went_well": went_well, "went_badly": went_badly, "decision_note": decision_note}
    for name, text in texts.items():
        too_long = length_problem(text, field=name)
        if too_long is not None:
            problems.append(too_long)
    if problems:
        raise problems[0] if len(problems) == 1 else _combine(problems)

    applies = permissions.may_change_relationship(by, relationship)
    note = decision_note.strip()
    stage_before = relationship.stage
    events: list[EventSpec] = []  # recorded together at the end: one INSERT
    if applies:
        moves = _decision_moves(relationship.stage, Review.Decision(decision), note)
        if moves:
            relationship_services.relationship_moves_apply(
                locked=relationship, moves=moves, by=by, events=events
            )
    else:
        _tell_manager_of_advice(locked, by)

    today = _today()
    for name in RATING_QUESTIONS:
        setattr(locked, name, ratings[name])
    locked.went_well = went_well.strip()
    locked.went_badly = went_badly.strip()
    locked.decision = decision
    locked.decision_note = note
    locked.status = Review.Status.COMPLETED
    locked.completed_on = today
    locked.completed_at = timezone.now()
    locked.completed_by = by
    locked.decision_applied = applies
    locked.stage_before = stage_before
    locked.stage_after = relationship.stage
    _stamp(locked, by)
    # Only the fields completing owns: a stale copy never writes back the due date or
    # on_demand (the lost update of issue 14), whoever changed them since.
    locked.save(update_fields=COMPLETION_FIELDS)

    # Once, after the moves: the next review from today (none if the relationship ended),
    # its date written with the refreshed health in one UPDATE.
    relationship_sync_review_schedule(relationship, completed_on=today, save=False)
    relationship_services.relationship_refresh_health(relationship, also=("next_review_on",))
    completed = {
        "decision": decision,
        "applied": applies,
        "ratings": locked.ratings(),
        "stage_before": locked.stage_before,
        "stage_after": locked.stage_after,
    }
    events_record([*events, EventSpec("review.completed", locked, by, completed)])
    return locked


COMPLETION_FIELDS = [
    *RATING_QUESTIONS,
    "went_well",
    "went_badly",
    "decision",
    "decision_note",
    "status",
    "completed_on",
    "completed_at",
    "completed_by",
    "decision_applied",
    "stage_before",
    "stage_after",
]


def _decision_moves(stage: str, decision: Review.Decision, note: str) -> list[tuple[str, str]]:
    """The lifecycle moves a decision makes from ``stage``: grow → Build, change → Present,
    end → Ended; from Build, grow and change pass through Review first (the review is
    happening). Before Build, grow and change (in Present) make no move."""
    moves = []
    if decision != Review.Decision.END and stage == Stage.BUILD:
        moves.append((Stage.REVIEW, "Review completed."))
        stage = Stage.REVIEW
    if decision == Review.Decision.END:
        moves.append((Stage.ENDED, note))
    elif stage == Stage.REVIEW:
        target = Stage.BUILD if decision == Review.Decision.GROW else Stage.PRESENT
        label = decision.label.split(":")[0]
        moves.append((target, f"Review: {label}. {note}".strip()))
    return moves


def _tell_manager_of_advice(review: Review, by: User) -> None:
    from notifications.services import notification_create

    manager = review.relationship.manager
    if manager is None:
        return
    notification_create(
        recipient=manager,
        kind="review_advice",
        title=f"{by} reviewed {review.relationship}: {review.get_decision_display()}",
        body="Their decision is advice: apply it from the relationship page if you agree.",
        url=links.review_path(review.pk),
    )


# --- Health ---------------------------------------------------------------------------


def latest_rating_facts(relationship_ids: list[int]) -> dict[int, dict]:
    """HEALTH_FACT_PROVIDERS entry, per relationship: ``latest_review_rating``, the overall
    rating (1–5) of the latest completed review, and ``latest_feedback_satisfaction``, the
    stakeholder's latest answer (0–10). relationships.health blends the two and says so.
    Two queries per batch, whatever its size.
    """
    facts: dict[int, dict] = {}
    for rel_id, overall in (
        Review.objects.filter(
            relationship_id__in=relationship_ids,
            status=Review.Status.COMPLETED,
            overall__isnull=False,
        )
        .order_by("relationship_id", "-completed_at", "-id")
        .values_list("relationship_id", "overall")
    ):
        facts.setdefault(rel_id, {}).setdefault("latest_review_rating", overall)
    for rel_id, satisfaction in (
        FeedbackResponse.objects.filter(relationship_id__in=relationship_ids)
        .order_by("relationship_id", "-submitted_at", "-id")
        .values_list("relationship_id", "satisfaction")
    ):
        facts.setdefault(rel_id, {}).setdefault("latest_feedback_satisfaction", satisfaction)
    return facts


# --- Stakeholder feedback -------------------------------------------------------------


def feedback_link_days() -> int:
    return int(getattr(settings, "FEEDBACK_LINK_DAYS", 14))


@transaction.atomic
def feedback_request_create(
    *, relationship: Relationship, contact: Contact, by: User, message: str = ""
) -> FeedbackRequest:
    """Record a request; the e-mail with the link goes out from a task after commit (and the
    hourly reminders run sends any whose task never ran, e.g. while the broker was down).

    The returned request's ``copy_link`` is a second working link to the same survey, for
    the sender to share themselves: shown once, only its nonce's hash is kept."""
    if not permissions.may_change_relationship(by, relationship):
        raise PermissionRefused("You may not ask this stakeholder for feedback.")
    if relationship.stage == Stage.ENDED:
        raise RuleViolation("relationship_ended", "This relationship has ended.")
    if contact.stakeholder_id != relationship.stakeholder_id:
        raise RuleViolation(
            "contact_elsewhere", f"{contact} is not a contact of this stakeholder.", "contact"
        )
    if not contact.email:
        raise RuleViolation("email_required", f"{contact} has no e-mail address.", "contact")
    check_length(message, field="message", limit=FEEDBACK_MESSAGE)
    copy_nonce = secrets.token_urlsafe(16)
    request = FeedbackRequest(
        relationship=relationship,
        contact=contact,
        message=message.strip(),
        sent_by=by,
        expires_at=timezone.now() + timedelta(days=feedback_link_days()),
        copy_nonce_hash=hash_nonce(copy_nonce),
    )
    _stamp(request, by)
    request.save()
    request.copy_link = absolute_url(links.feedback_path(feedback_token(request.pk, copy_nonce)))
    event_record(
        verb="feedback.requested",
        subject=request,
        actor=by,
        data={"contact": str(contact)},
    )
    from reviews.tasks import enqueue, send_feedback_request

    transaction.on_commit(lambda: enqueue(send_feedback_request, request.pk))
    return request


def feedback_token(request_id: int, nonce: str) -> str:
    return signing.dumps({"r": request_id, "n": nonce}, salt=FEEDBACK_SALT, compress=True)


def feedback_request_deliver(*, request_id: int) -> bool:
    """Mint the one-time link and e-mail it. Safe to run twice: the row lock and ``sent_at``
    make a second run a no-op. The mail goes out while the row is locked, so a failed send
    rolls back and the next run tries again; nothing is stored that could rebuild the link."""
    with transaction.atomic():
        # Race: the task and the hourly sweep delivering the same request at once.
        request = (
            FeedbackRequest.objects.select_for_update(of=("self",))
            .select_related("contact", "sent_by")
            .filter(pk=request_id, sent_at__isnull=True)
            .first()
        )
        if request is None or request.answered_at or request.expires_at <= timezone.now():
            return False
        nonce = secrets.token_urlsafe(16)
        request.nonce_hash = hash_nonce(nonce)
        request.sent_at = timezone.now()
        request.save(update_fields=["nonce_hash", "sent_at"])
        link = absolute_url(links.feedback_path(feedback_token(request.pk, nonce)))
        context = {
            "request": request,
            "link": link,
            "organisation": organisation_name(),
            "expires_on": timezone.localdate(request.expires_at),
        }
        send_mail(
            subject=f"{organisation_name() or 'We'} would value your feedback",
            message=render_to_string("reviews/email/feedback_request.txt", context),
            from_email=None,
            recipient_list=[request.contact.email],
        )
    return True


def feedback_requests_send_pending(older_than_minutes: int = 5) -> int:
    """Requests whose send task never ran (broker down): send them now."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = FeedbackRequest.objects.filter(
        sent_at__isnull=True, created_at__lte=cutoff, expires_at__gt=timezone.now()
    ).values_list("pk", flat=True)[:500]
    return sum(feedback_request_deliver(request_id=pk) for pk in list(ids))


def organisation_name() -> str:
    """How survey pages and e-mails name us; "" when not configured, and then they say
    "we" and "us" rather than a placeholder name."""
    return (getattr(settings, "ORGANISATION_NAME", "") or "").strip()


class FeedbackLinkError(Exception):
    """Why a feedback link cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired", "used"
        self.status = status


def feedback_request_from_token(token: str, *, lock: bool = False) -> FeedbackRequest:
    """The request a link points at, or FeedbackLinkError: tampered → invalid (400),
    past its date → expired (410), answered → used (410)."""
    try:
        data = signing.loads(
            token, salt=FEEDBACK_SALT, max_age=timedelta(days=feedback_link_days())
        )
        request_id, nonce = int(data["r"]), str(data["n"])
    except signing.SignatureExpired:
        raise FeedbackLinkError("expired", 410) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise FeedbackLinkError("invalid", 400) from None
    # What the answer's notification and event name (the contact, the relationship's
    # stakeholder and type) comes in the same query.
    queryset = FeedbackRequest.objects.select_related(
        "contact", "relationship__stakeholder", "relationship__type"
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    request = queryset.filter(pk=request_id).first()
    hashed = hash_nonce(nonce)
    # Either of the request's links: the e-mailed one or the sender's copy.
    if request is None or not any(
        stored and hmac.compare_digest(stored, hashed)
        for stored in (request.nonce_hash, request.copy_nonce_hash)
    ):
        raise FeedbackLinkError("invalid", 400)
    if request.answered_at is not None:
        raise FeedbackLinkError("used", 410)
    if request.expires_at <= timezone.now():
        raise FeedbackLinkError("expired", 410)
    return request


@transaction.atomic
def feedback_response_submit(
    *,
    token: str,
    satisfaction: int,
    responsiveness: int,
    communication: int,
    value: int,
    comment: str = "",
) -> FeedbackResponse:
    """The stakeholder's answer (no user: the signed single-use link is the authority)."""
    # Race: the same link submitted twice at once (double click, two tabs): the row lock
    # serialises them and the second finds it answered (the one-to-one key backs this up).
    request = feedback_request_from_token(token, lock=True)
    if satisfaction not in range(0, 11):
        raise RuleViolation("invalid_rating", "Choose from 0 to 10.", "satisfaction")
    for name, number in (
        ("responsiveness", responsiveness),
        ("communication", communication),
        ("value", value),
    ):
        if number not in range(1, 6):
            raise RuleViolation("invalid_rating", "Choose from 1 to 5.", name)
    response = FeedbackResponse.objects.create(
        request=request,
        relationship=request.relationship,
        satisfaction=satisfaction,
        responsiveness=responsiveness,
        communication=communication,
        value=value,
        comment=comment.strip()[:5000],
    )
    request.answered_at = timezone.now()
    request._history_user = None
    request.save(update_fields=["answered_at"])
    relationship_services.relationship_refresh_health(request.relationship)
    sender = None
    if request.sent_by_id:
        sender = User.objects.filter(pk=request.sent_by_id, is_active=True).first()
    recipient = sender
    if sender and not permissions.may_see_relationship(sender, request.relationship):
        # The sender has lost sight of the relationship since (moved out of the team of a
        # confidential one): the answer is its record, so its manager hears of it instead.
        manager = User.objects.filter(pk=request.relationship.manager_id, is_active=True).first()
        recipient = manager if manager and manager.pk != sender.pk else None
    if recipient:
        from notifications.services import notification_create

        whose = "your" if recipient == sender else "a"
        notification_create(
            recipient=recipient,
            kind="feedback_received",
            title=f"{request.contact} answered {whose} feedback request: {satisfaction}/10",
            body=comment.strip()[:300],
            url=links.relationship_path(request.relationship_id),
        )
    event_record(
        verb="feedback.received",
        subject=response,
        actor=None,  # the stakeholder, through their single-use link
        data={"contact": str(request.contact), "satisfaction": satisfaction},
    )
    return response


def contacts_for_feedback(relationship: Relationship) -> Iterable[Contact]:
    return Contact.objects.filter(stakeholder_id=relationship.stakeholder_id).exclude(email="")

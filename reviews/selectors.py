"""Reads of reviews and feedback, always scoped by accounts.permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from relationships.models import Relationship
from reviews.models import RATING_QUESTIONS, FeedbackRequest, FeedbackResponse, Review


def reviews_visible_to(user) -> QuerySet[Review]:
    return Review.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related(
        "relationship",
        "relationship__stakeholder",
        "relationship__type",
        "relationship__manager",
        "completed_by",
    )


def get_review_for(user, pk) -> Review:
    """The review if the user may see its relationship, else 404 (existence leaks nothing)."""
    try:
        return reviews_visible_to(user).get(pk=pk)
    except (Review.DoesNotExist, ValueError, TypeError):
        raise Http404("No such review") from None


def with_state(queryset: QuerySet[Review], today: date) -> QuerySet[Review]:
    """Annotate ``state``: due and overdue follow from the date, never from a stored flag."""
    return queryset.annotate(
        state=Case(
            When(status=Review.Status.SCHEDULED, due_on__lt=today, then=Value("overdue")),
            When(status=Review.Status.SCHEDULED, due_on=today, then=Value("due")),
            default=F("status"),
            output_field=CharField(),
        )
    )


def _mine(user: User) -> Q:
    """Reviews of relationships the user manages, and those they were asked to take part in."""
    asked = Review.reviewers.through.objects.filter(user_id=user.pk).values("review_id")
    return Q(relationship__manager_id=user.pk) | Q(pk__in=asked)


@dataclass
class ReviewsPage:
    overdue: list[Review]
    due_soon: list[Review]
    completed: list[Review]
    lookahead_days: int


def reviews_page(user: User, today: date, lookahead_days: int, completed_limit: int = 20):
    """The user's reviews: overdue, due soon (today … lookahead), recently completed.

    Three queries whatever the number of reviews (the tests pin it).
    """
    base = with_state(reviews_visible_to(user).filter(_mine(user)), today)
    open_ = base.filter(status=Review.Status.SCHEDULED)
    return ReviewsPage(
        overdue=list(open_.filter(due_on__lt=today).order_by("due_on", "id")),
        due_soon=list(
            open_.filter(
                due_on__gte=today, due_on__lte=today + timedelta(days=lookahead_days)
            ).order_by("due_on", "id")
        ),
        completed=list(
            base.filter(status=Review.Status.COMPLETED).order_by("-completed_at", "-id")[
                :completed_limit
            ]
        ),
        lookahead_days=lookahead_days,
    )


@dataclass
class PerceptionGap:
    """How the stakeholder rated us beside how our manager rated the relationship."""

    theirs: FeedbackResponse | None
    ours: Review | None

    @property
    def theirs_on_five(self) -> float | None:
        return self.theirs.satisfaction_on_five if self.theirs else None

    @property
    def gap(self) -> float | None:
        """Ours minus theirs on the 1–5 scale: positive means we think better of it."""
        if self.theirs is None or self.ours is None or self.ours.overall is None:
            return None
        return round(self.ours.overall - self.theirs.satisfaction_on_five, 1)

    @property
    def verdict(self) -> str:
        gap = self.gap
        if gap is None:
            return ""
        if gap >= 1:
            return "We rate the relationship higher than they do."
        if gap <= -1:
            return "They rate the relationship higher than we do."
        return "Both sides see it much the same way."


def perception_gap(relationship: Relationship) -> PerceptionGap:
    theirs = relationship.feedback_responses.select_related("request__contact").first()
    ours = (
        relationship.reviews.filter(status=Review.Status.COMPLETED)
        .select_related("completed_by")
        .order_by("-completed_at", "-id")
        .first()
    )
    return PerceptionGap(theirs=theirs, ours=ours)


@dataclass
class ReviewHistory:
    relationship: Relationship
    open_review: Review | None
    completed: list[Review]
    trends: list[dict] = field(default_factory=list)  # one per question, oldest → newest
    gap: PerceptionGap | None = None
    feedback: list[FeedbackResponse] = field(default_factory=list)
    pending_requests: list[FeedbackRequest] = field(default_factory=list)


# How many completed reviews and feedback answers the relationship page reads: enough for
# its timeline (relationships.selectors shows 100 entries) and its reviews block.
PAGE_READ_LIMIT = 100


def _page_reviews(relationship: Relationship) -> tuple[Review | None, list[Review]]:
    """The open review and the completed ones (newest first) in one query, kept on the
    relationship object so the timeline and the reviews block of one page share it."""
    memo = relationship.__dict__.get("_rapport_page_reviews")
    if memo is None:
        rows = list(
            with_state(
                relationship.reviews.filter(
                    status__in=[Review.Status.SCHEDULED, Review.Status.COMPLETED]
                ),
                timezone.localdate(),
            )
            .select_related("completed_by")
            .order_by(
                Case(When(status=Review.Status.SCHEDULED, then=Value(0)), default=Value(1)),
                F("completed_at").desc(nulls_last=True),
                "-id",
            )[: PAGE_READ_LIMIT + 1]
        )
        open_review = rows[0] if rows and rows[0].status == Review.Status.SCHEDULED else None
        completed = [r for r in rows if r.status == Review.Status.COMPLETED][:PAGE_READ_LIMIT]
        memo = relationship.__dict__["_rapport_page_reviews"] = (open_review, completed)
    return memo


def _page_feedback(relationship: Relationship) -> list[FeedbackResponse]:
    """The newest feedback answers, shared the same way."""
    memo = relationship.__dict__.get("_rapport_page_feedback")
    if memo is None:
        memo = relationship.__dict__["_rapport_page_feedback"] = list(
            relationship.feedback_responses.select_related("request__contact")[:PAGE_READ_LIMIT]
        )
    return memo


def relationship_reviews(relationship: Relationship, today: date, limit: int = 12):
    """The review history with rating trends, the perception gap and recent feedback.

    A fixed number of queries whatever the history's length: the reviews, the open one's
    reviewers, the feedback answers (both shared with the page's timeline) and the pending
    feedback requests.
    """
    open_review, completed = _page_reviews(relationship)
    if open_review is not None:
        prefetch_related_objects([open_review], "reviewers")
    completed = completed[:limit]
    oldest_first = list(reversed(completed))
    trends = [
        {
            "name": name,
            "label": label,
            "values": [getattr(r, name) for r in oldest_first if getattr(r, name) is not None],
        }
        for name, label in RATING_QUESTIONS.items()
    ]
    for trend in trends:
        values = trend["values"]
        trend["latest"] = values[-1] if values else None
        trend["change"] = values[-1] - values[-2] if len(values) > 1 else None
    feedback = _page_feedback(relationship)[:5]
    gap = PerceptionGap(
        theirs=feedback[0] if feedback else None, ours=completed[0] if completed else None
    )
    pending = list(
        relationship.feedback_requests.filter(
            answered_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("contact")
        .order_by("-created_at")[:5]
    )
    return ReviewHistory(
        relationship=relationship,
        open_review=open_review,
        completed=completed,
        trends=trends,
        gap=gap,
        feedback=feedback,
        pending_requests=pending,
    )


def satisfaction_summary(user, days: int = 90) -> dict:
    """For the dashboard: stakeholder satisfaction over the last ``days`` on relationships the
    user may see — responses, average 0–10, and promoters (9–10) minus detractors (0–6) as a
    percentage (NPS-style). One query."""
    since = timezone.now() - timedelta(days=days)
    row = FeedbackResponse.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__"), submitted_at__gte=since
    ).aggregate(
        responses=Count("id"),
        average=Avg("satisfaction"),
        promoters=Count("id", filter=Q(satisfaction__gte=9)),
        detractors=Count("id", filter=Q(satisfaction__lte=6)),
    )
    responses = row["responses"] or 0
    return {
        "days": days,
        "responses": responses,
        "average": round(row["average"], 1) if row["average"] is not None else None,
        "net_score": round(100 * (row["promoters"] - row["detractors"]) / responses)
        if responses
        else None,
    }


def executives_to_ask() -> QuerySet[User]:
    return User.objects.filter(role="executive", is_active=True).order_by("first_name", "username")

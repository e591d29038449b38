"""Demo reviews and stakeholder feedback for core.demo (bulk inserts, reproducible)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from core.demo import stamped_by_hand
from relationships.models import Relationship, Stage
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from reviews.services import reviews_schedule_missing
from stakeholders.models import Contact

# Completed reviews in the past; every active relationship also gets its open review.
COMPLETED_REVIEWS = {"small": 25, "large": 33_000, "xlarge": 330_000}
FEEDBACK_RESPONSES = {"small": 12, "large": 3_000, "xlarge": 30_000}
WENT_WELL = ["Deliveries on time", "Open conversations", "Joint event drew a crowd"]
WENT_BADLY = ["Slow answers to our requests", "Budget talks dragged", "Nothing significant"]


def _spread_open_reviews(rng: random.Random, today: date) -> None:
    """A realistic calendar: most open reviews ahead, about one in ten late, a few badly late
    (escalated) — instead of every cadence computed from old demo reviews falling due."""
    open_reviews = list(
        Review.objects.filter(status=Review.Status.SCHEDULED).select_related(
            "relationship", "relationship__type"
        )
    )
    relationships = []
    for review in open_reviews:
        roll = rng.random()
        if roll < 0.05:
            review.due_on = today - timedelta(days=rng.randint(15, 60))
        elif roll < 0.15:
            review.due_on = today - timedelta(days=rng.randint(1, 13))
        else:
            cadence = review.relationship.effective_review_cadence_days
            review.due_on = today + timedelta(days=rng.randint(0, cadence))
        review.relationship.next_review_on = review.due_on
        relationships.append(review.relationship)
    Review.objects.bulk_update(open_reviews, ["due_on"], batch_size=5000)
    Relationship.objects.bulk_update(relationships, ["next_review_on"], batch_size=5000)


@transaction.atomic
def seed(scale: str, today: date) -> bool:
    if Review.objects.exists():
        return False
    rng = random.Random(31)
    reviewed = list(
        Relationship.objects.filter(stage__in=[Stage.BUILD, Stage.REVIEW, Stage.ENDED])
        .exclude(manager=None)
        .values_list("pk", "manager_id", "stage")
    )
    completed = []
    for _ in range(COMPLETED_REVIEWS[scale] if reviewed else 0):
        rel_id, manager_id, stage = rng.choice(reviewed)
        on = today - timedelta(days=rng.randint(20, 700))
        overall = rng.choice([2, 3, 3, 4, 4, 4, 5, 5])
        decision = "end" if stage == Stage.ENDED and rng.random() < 0.3 else "grow"
        completed.append(
            Review(
                created_at=timezone.make_aware(datetime.combine(on - timedelta(days=90), time(9))),
                relationship_id=rel_id,
                status=Review.Status.COMPLETED,
                due_on=on,
                trust=rng.randint(2, 5),
                communication=rng.randint(2, 5),
                value_to_us=rng.randint(2, 5),
                value_to_them=rng.randint(2, 5),
                overall=overall,
                went_well=rng.choice(WENT_WELL),
                went_badly=rng.choice(WENT_BADLY),
                decision=decision,
                decision_note="It has not delivered value to either side."
                if decision == "end"
                else "",
                decision_applied=True,
                stage_before=Stage.REVIEW,
                stage_after=Stage.ENDED if decision == "end" else Stage.BUILD,
                completed_on=on,
                completed_at=timezone.make_aware(datetime.combine(on, time(11))),
                completed_by_id=manager_id,
            )
        )
    with stamped_by_hand(Review):
        Review.objects.bulk_create(completed, batch_size=5000)
    reviews_schedule_missing()
    _spread_open_reviews(rng, today)

    contacts: dict[int, int] = dict(
        Contact.objects.filter(stakeholder__relationships__pk__in=[r[0] for r in reviewed])
        .values_list("stakeholder__relationships__pk", "pk")
        .distinct()
    )
    candidates = [r for r in reviewed if r[0] in contacts]
    requests, responses = [], []
    for _ in range(min(FEEDBACK_RESPONSES[scale], len(candidates))):
        rel_id, manager_id, _stage = rng.choice(candidates)
        sent = timezone.now() - timedelta(days=rng.randint(5, 300))
        request = FeedbackRequest(
            relationship_id=rel_id,
            contact_id=contacts[rel_id],
            message="How are we doing as a partner?",
            sent_by_id=manager_id,
            expires_at=sent + timedelta(days=14),
            sent_at=sent,
            answered_at=sent + timedelta(days=2),
        )
        requests.append(request)
    FeedbackRequest.objects.bulk_create(requests, batch_size=5000)
    for request in requests:
        responses.append(
            FeedbackResponse(
                submitted_at=request.answered_at,
                request=request,
                relationship_id=request.relationship_id,
                satisfaction=rng.choice([5, 6, 7, 8, 8, 9, 9, 10]),
                responsiveness=rng.randint(2, 5),
                communication=rng.randint(2, 5),
                value=rng.randint(2, 5),
                comment=rng.choice(
                    ["", "Good partner, could answer faster.", "Great to work with."]
                ),
            )
        )
    with stamped_by_hand(FeedbackResponse):
        FeedbackResponse.objects.bulk_create(responses, batch_size=5000)
    return True

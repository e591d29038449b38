"""The relationship health score (0–100), what pulls it down and what lifts it.

Rule (documented for users on the relationship page):
  start at 100 and subtract
  - recency: nothing for contact in the last 14 days, then 1 point per 2 days of silence up to
    40 (no interaction ever: 40);
  - sentiment: the average of the last 5 interactions (−2…+2) costs (2 − average) × 5, so
    +2 costs 0, neutral 10, −2 costs 20; a fall of a point or more between the 3 latest and
    the 3 before costs 5 more;
  - responsiveness: 5 per overdue open commitment of ours, up to 20;
  - rating: the overall rating of the latest review (1–5) and the stakeholder's latest
    feedback (0–10, read as 1 + 0.4 × score on the same 1–5 scale), averaged when there are
    both, cost (5 − rating) × 5, up to 20.
The result is clamped to 0–100.
What lifts it: contact in the last 14 days, a warm average sentiment (above 0) and a rating
above 3 cost nothing or less than a neutral one would. Everything else that costs points is
what pulls it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

RECENCY_GRACE_DAYS = 14
RECENCY_MAX_PENALTY = 40
SENTIMENT_WINDOW = 5
OVERDUE_PENALTY_EACH = 5
OVERDUE_MAX_PENALTY = 20
REVIEW_MAX_PENALTY = 20
NEUTRAL_RATING = 3


@dataclass
class HealthFacts:
    today: date
    last_interaction_on: date | None = None
    recent_sentiments: list[int] = field(default_factory=list)  # newest first
    overdue_commitments: int = 0
    latest_review_rating: int | None = None  # our latest review's overall rating, 1–5
    latest_feedback_satisfaction: int | None = None  # their latest feedback, 0–10


class Health(NamedTuple):
    score: int
    reasons: list[str]  # what pulls it down
    lifts: list[str]  # what lifts it


def feedback_on_five(satisfaction: int) -> float:
    """A 0–10 satisfaction on the reviews' 1–5 scale (0 → 1, 5 → 3, 10 → 5)."""
    return 1 + satisfaction * 0.4


def _rating(facts: HealthFacts) -> tuple[float, str] | None:
    """The rating the score uses and how it is made, in words that match the figures the
    page shows beside it (our review's x/5, their feedback's y/10)."""
    ours, satisfaction = facts.latest_review_rating, facts.latest_feedback_satisfaction
    if satisfaction is None:
        return (ours, f"Latest review rated {ours}/5") if ours is not None else None
    theirs = feedback_on_five(satisfaction)
    their_words = f"{satisfaction}/10 ≈ {theirs:.1f}/5"
    if ours is None:
        return theirs, f"Their latest feedback {their_words}"
    blended = (ours + theirs) / 2
    return blended, (
        f"Review and feedback {blended:.1f}/5, blended from our latest review ({ours}/5) "
        f"and their latest feedback ({their_words})"
    )


def compute_health(facts: HealthFacts) -> Health:
    score = 100
    reasons: list[str] = []
    lifts: list[str] = []

    if facts.last_interaction_on is None:
        score -= RECENCY_MAX_PENALTY
        reasons.append("No interaction logged yet")
    else:
        silent_days = (facts.today - facts.last_interaction_on).days
        if silent_days <= RECENCY_GRACE_DAYS:
            lifts.append(f"In contact within the last {RECENCY_GRACE_DAYS} days")
        else:
            penalty = min(RECENCY_MAX_PENALTY, (silent_days - RECENCY_GRACE_DAYS) // 2)
            if penalty:
                score -= penalty
                reasons.append(f"No contact for {silent_days} days")

    sentiments = facts.recent_sentiments[:SENTIMENT_WINDOW]
    if sentiments:
        average = sum(sentiments) / len(sentiments)
        score -= round((2 - average) * 5)
        if len(sentiments) == 1:
            words = f"Sentiment {average:+.1f} at the last interaction"
        else:
            words = f"Average sentiment {average:+.1f} over the last {len(sentiments)} interactions"
        # Warm (above neutral) lifts it, even when short of +2; neutral or cold pulls it down.
        (lifts if average > 0 else reasons).append(words)
        latest, before = facts.recent_sentiments[:3], facts.recent_sentiments[3:6]
        if len(latest) == 3 and len(before) == 3 and sum(before) / 3 - sum(latest) / 3 >= 1:
            score -= 5
            reasons.append("Sentiment is falling")

    if facts.overdue_commitments:
        penalty = min(OVERDUE_MAX_PENALTY, OVERDUE_PENALTY_EACH * facts.overdue_commitments)
        score -= penalty
        plural = "s" if facts.overdue_commitments > 1 else ""
        reasons.append(f"{facts.overdue_commitments} overdue commitment{plural} of ours")

    rating = _rating(facts)
    if rating is not None:
        value, words = rating
        score -= min(REVIEW_MAX_PENALTY, round((5 - value) * 5))
        (lifts if value > NEUTRAL_RATING else reasons).append(words)

    return Health(max(0, min(100, score)), reasons, lifts)

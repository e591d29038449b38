"""The relationship health score (0–100) and what pulls it down.

Rule (documented for users on the relationship page):
  start at 100 and subtract
  - recency: nothing for contact in the last 14 days, then 1 point per 2 days of silence up to
    40 (no interaction ever: 40);
  - sentiment: the average of the last 5 interactions (−2…+2) costs (2 − average) × 5, so
    +2 costs 0, neutral 10, −2 costs 20; a fall of a point or more between the 3 latest and
    the 3 before costs 5 more;
  - responsiveness: 5 per overdue open commitment of ours, up to 20;
  - latest review: (5 − overall rating) × 5 when a completed review exists, up to 20.
The result is clamped to 0–100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

RECENCY_GRACE_DAYS = 14
RECENCY_MAX_PENALTY = 40
SENTIMENT_WINDOW = 5
OVERDUE_PENALTY_EACH = 5
OVERDUE_MAX_PENALTY = 20
REVIEW_MAX_PENALTY = 20


@dataclass
class HealthFacts:
    today: date
    last_interaction_on: date | None = None
    recent_sentiments: list[int] = field(default_factory=list)  # newest first
    overdue_commitments: int = 0
    latest_review_rating: int | None = None


def compute_health(facts: HealthFacts) -> tuple[int, list[str]]:
    score = 100
    reasons: list[str] = []

    if facts.last_interaction_on is None:
        score -= RECENCY_MAX_PENALTY
        reasons.append("No interaction logged yet")
    else:
        silent_days = (facts.today - facts.last_interaction_on).days
        if silent_days > RECENCY_GRACE_DAYS:
            penalty = min(RECENCY_MAX_PENALTY, (silent_days - RECENCY_GRACE_DAYS) // 2)
            if penalty:
                score -= penalty
                reasons.append(f"No contact for {silent_days} days")

    sentiments = facts.recent_sentiments[:SENTIMENT_WINDOW]
    if sentiments:
        average = sum(sentiments) / len(sentiments)
        penalty = round((2 - average) * 5)
        if penalty:
            score -= penalty
            reasons.append(f"Average sentiment {average:+.1f} over the last {len(sentiments)}")
        latest, before = facts.recent_sentiments[:3], facts.recent_sentiments[3:6]
        if len(latest) == 3 and len(before) == 3 and sum(before) / 3 - sum(latest) / 3 >= 1:
            score -= 5
            reasons.append("Sentiment is falling")

    if facts.overdue_commitments:
        penalty = min(OVERDUE_MAX_PENALTY, OVERDUE_PENALTY_EACH * facts.overdue_commitments)
        score -= penalty
        plural = "s" if facts.overdue_commitments > 1 else ""
        reasons.append(f"{facts.overdue_commitments} overdue commitment{plural} of ours")

    if facts.latest_review_rating is not None:
        penalty = min(REVIEW_MAX_PENALTY, (5 - facts.latest_review_rating) * 5)
        if penalty:
            score -= penalty
            reasons.append(f"Latest review rated {facts.latest_review_rating}/5")

    return max(0, min(100, score)), reasons

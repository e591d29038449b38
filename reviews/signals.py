"""Events of the reviews app other apps subscribe to (webhooks), so reviews never imports them.

Each is sent inside the transaction that made it true; receivers that talk to the outside
world must defer that work with ``transaction.on_commit``.

review_completed(sender=Review, review, by)
    review_complete recorded a review (the decision applied or recorded as advice).
review_overdue(sender=Review, review)
    the reminder pipeline delivered an "overdue" reminder about an open review: sent at most
    once a day per recipient, so receivers dedupe on (review, due date).
feedback_received(sender=FeedbackResponse, response)
    a stakeholder answered a feedback request.
"""

from django.dispatch import Signal

review_completed = Signal()
review_overdue = Signal()
feedback_received = Signal()

"""Reviews, reminders, digests and stakeholder feedback are written by the reviews services
and tasks (and the stakeholder's survey link); the admin shows them and writes none."""

from django.contrib import admin

from core.admin_writes import ReadOnlyAdmin, ReadOnlyHistoryAdmin
from reviews.models import Digest, FeedbackRequest, FeedbackResponse, Reminder, Review


@admin.register(Review)
class ReviewAdmin(ReadOnlyHistoryAdmin):
    list_display = ["relationship", "status", "due_on", "decision", "completed_on", "completed_by"]
    list_filter = ["status", "decision"]
    search_fields = ["relationship__stakeholder__name"]
    raw_id_fields = ["relationship", "completed_by"]
    filter_horizontal = ["reviewers"]
    date_hierarchy = "due_on"


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "recipient",
        "for_date",
        "review",
        "commitment",
        "notified_at",
        "emailed_at",
    ]
    list_filter = ["kind", "for_date"]
    raw_id_fields = ["review", "commitment", "recipient"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "for_date", "items", "sent_at"]
    raw_id_fields = ["recipient"]


@admin.register(FeedbackRequest)
class FeedbackRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = ["relationship", "contact", "sent_by", "created_at", "sent_at", "answered_at"]
    raw_id_fields = ["relationship", "contact", "sent_by"]
    exclude = ["nonce_hash"]


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(ReadOnlyAdmin):
    list_display = ["relationship", "satisfaction", "submitted_at"]
    raw_id_fields = ["request", "relationship"]

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from reviews.models import Digest, FeedbackRequest, FeedbackResponse, Reminder, Review


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin):
    list_display = ["relationship", "status", "due_on", "decision", "completed_on", "completed_by"]
    list_filter = ["status", "decision"]
    search_fields = ["relationship__stakeholder__name"]
    raw_id_fields = ["relationship", "completed_by"]
    filter_horizontal = ["reviewers"]
    date_hierarchy = "due_on"


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
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
class DigestAdmin(admin.ModelAdmin):
    list_display = ["recipient", "for_date", "items", "sent_at"]
    raw_id_fields = ["recipient"]


@admin.register(FeedbackRequest)
class FeedbackRequestAdmin(SimpleHistoryAdmin):
    list_display = ["relationship", "contact", "sent_by", "created_at", "sent_at", "answered_at"]
    raw_id_fields = ["relationship", "contact", "sent_by"]
    exclude = ["nonce_hash"]


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(admin.ModelAdmin):
    list_display = ["relationship", "satisfaction", "submitted_at"]
    raw_id_fields = ["request", "relationship"]

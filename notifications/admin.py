"""Notifications are written by notifications.services and read by their recipient;
preferences are each person's own (their settings page). The admin shows them."""

from django.contrib import admin

from core.admin_writes import ReadOnlyAdmin
from notifications.models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "recipient__username"]
    raw_id_fields = ["recipient"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "email_enabled", "digest_enabled", "updated_at"]
    raw_id_fields = ["user"]

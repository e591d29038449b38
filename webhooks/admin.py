"""Admin: a read-mostly view of endpoints and their deliveries. Creating endpoints (and seeing
the secret) happens on the Webhooks page; edits and "send again" go through the services."""

from django.contrib import admin, messages
from django.db import models

from core.admin_writes import ServiceAdmin
from core.errors import RuleViolation
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdmin):
    list_display = ["url", "active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    fields = [
        "url",
        "description",
        "event_types",
        "active",
        "include_confidential",
        "consecutive_failures",
        "disabled_at",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["consecutive_failures", "disabled_at", "created_by", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False  # the Webhooks page creates endpoints and shows their secret once

    def service_save(self, request, obj, form, change) -> WebhookEndpoint:
        fields = {name: form.cleaned_data[name] for name in services.ENDPOINT_FIELDS}
        return services.endpoint_update(endpoint=obj, by=request.user, **fields)

    def service_delete(self, request, obj) -> None:
        services.endpoint_delete(endpoint=obj, by=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id", "endpoint__url"]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the delivery log: what was sent, when, and what came back

    @admin.action(description="Send the selected deliveries again")
    def redeliver(self, request, queryset) -> None:
        sent = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(delivery=delivery, by=request.user)
                sent += 1
            except RuleViolation as error:
                messages.warning(request, f"{delivery}: {error.message}")
        messages.success(request, f"Queued {sent} deliver{'ies' if sent != 1 else 'y'} again.")

"""Reads of webhook endpoints and deliveries: admins only (everyone else gets a 404)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts import permissions
from webhooks.models import WebhookDelivery, WebhookEndpoint

LOG_SIZE = 100


def endpoints_for(user) -> QuerySet[WebhookEndpoint]:
    if not permissions.is_admin(user):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.select_related("created_by").order_by("url", "id")


def endpoints_overview(user) -> QuerySet[WebhookEndpoint]:
    """Endpoints with their pending and failed delivery counts (one query)."""
    return endpoints_for(user).annotate(
        pending_count=Count("deliveries", filter=Q(deliveries__status="pending")),
        failed_count=Count("deliveries", filter=Q(deliveries__status="failed")),
    )


def get_endpoint_for(user, pk) -> WebhookEndpoint:
    try:
        return endpoints_for(user).get(pk=pk)
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError):
        raise Http404("No such webhook endpoint") from None


def deliveries_for(user) -> QuerySet[WebhookDelivery]:
    if not permissions.is_admin(user):
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-id")


def get_delivery_for(user, pk) -> WebhookDelivery:
    try:
        return deliveries_for(user).get(pk=pk)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such delivery") from None


def delivery_log(endpoint: WebhookEndpoint, limit: int = LOG_SIZE) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first (one query)."""
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])

"""API: the caller's own notifications (never anyone else's: those answer 404), mark read."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FILTER_BACKENDS, StrictBooleanFilter, error_responses
from notifications import selectors, services
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")


class NotificationFilter(filters.FilterSet):
    unread = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull", label="Unread only.")

    class Meta:
        model = Notification
        fields = ["kind"]


@extend_schema_view(
    list=extend_schema(description="Your notifications, newest first."),
    retrieve=extend_schema(
        description="One of your notifications.",
        responses={200: NotificationSerializer, **error_responses(404)},
    ),
)
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """In-app notifications: reminders, escalations, requests to review, answers."""

    serializer_class = NotificationSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = NotificationFilter
    search_fields = ["title", "body"]
    ordering_fields = ["id", "created_at", "read_at"]
    ordering = ["-created_at", "-id"]

    queryset = Notification.objects.none()  # for the schema generator; see get_queryset

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_for(self.request.user).order_by(*self.ordering)

    @extend_schema(
        description="Mark one notification read (already read: unchanged).",
        request=None,
        responses={200: NotificationSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk=None) -> Response:
        notification = services.notification_mark_read(
            notification=self.get_object(), by=request.user
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        description="Mark all your unread notifications read.",
        request=None,
        responses={200: MarkedSerializer},
        examples=[OpenApiExample("Three marked", value={"marked": 3}, response_only=True)],
    )
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request: Request) -> Response:
        return Response({"marked": services.notification_mark_all_read(by=request.user)})


ROUTES = [("notifications", NotificationViewSet, "notification")]

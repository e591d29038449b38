"""API for the event log: ``GET /api/v1/events/`` lets integrations follow what changes
instead of re-reading every list. Read-only; scoped by accounts.permissions.event_scope (an
event on a relationship the caller may not see is absent from the list and answers 404).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets

from accounts.models import User
from core.api import (
    EnumField,
    NewestFirstCursorPagination,
    StrictCharField,
    VisibleIdsFilterBackend,
    error_responses,
)
from events import selectors
from events.models import Event
from events.vocabulary import VERBS, verb_choices
from relationships.models import Relationship
from stakeholders.models import Stakeholder

_BIGINT_MAX = 2**63 - 1


class EventSubjectSerializer(serializers.Serializer):
    type = StrictCharField(source="subject_type", help_text="e.g. relationships.interaction")
    id = serializers.IntegerField(source="subject_id", allow_null=True)
    label = StrictCharField(source="subject_label", help_text="Its name when it happened.")


class EventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True, help_text="The event's public id.")
    verb = EnumField(verb_choices(), "EventVerb", read_only=True)
    says = serializers.SerializerMethodField(help_text="How the activity feed says the verb.")
    actor = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    actor_name = serializers.SerializerMethodField()
    subject = EventSubjectSerializer(source="*", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "occurred_at",
            "verb",
            "says",
            "actor",
            "actor_name",
            "via",
            "subject",
            "relationship",
            "stakeholder",
            "team",
            "data",
        ]
        read_only_fields = fields

    def get_says(self, event: Event) -> str:
        return VERBS.get(event.verb, event.verb)

    def get_actor_name(self, event: Event) -> str | None:
        return str(event.actor) if event.actor is not None else None


class _IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class EventFilter(django_filters.FilterSet):
    verb = django_filters.MultipleChoiceFilter(
        choices=verb_choices(), help_text="One or several verbs (repeat the parameter)."
    )
    subject_type = django_filters.CharFilter(
        max_length=60, help_text="The subject's kind, e.g. `relationships.interaction`."
    )
    subject_id = _IntegerFilter(
        min_value=1, max_value=_BIGINT_MAX, help_text="With `subject_type`: one record's events."
    )
    relationship = django_filters.ModelChoiceFilter(queryset=Relationship.objects.all())
    stakeholder = django_filters.ModelChoiceFilter(queryset=Stakeholder.objects.all())
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    since = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        help_text="Events at or after this ISO 8601 time.",
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Events before this ISO 8601 time."
    )

    class Meta:
        model = Event
        fields = [
            "verb",
            "subject_type",
            "subject_id",
            "relationship",
            "stakeholder",
            "actor",
            "since",
            "until",
        ]

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            data = self.form.cleaned_data
            if data.get("subject_id") is not None and not data.get("subject_type"):
                self.form.add_error("subject_id", "Give subject_type with subject_id.")
                return False
            since, until = data.get("since"), data.get("until")
            if since and until and since >= until:
                self.form.add_error("until", "until must be later than since.")
                return False
        return valid


class EventPagination(NewestFirstCursorPagination):
    ordering = ("-occurred_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="List events",
        description=(
            "What happened, newest first by `occurred_at` (then by id): one event per write, "
            "recorded by the service that made it in the same transaction. Events on "
            "relationships you may not see (confidential ones of other teams) are never "
            "listed. Paged by cursor: follow `next` (older events) and `previous`; each link "
            "carries the filters and `page_size`. A cursor is a position in this fixed order, "
            "so it stays valid while new events arrive: pages already read never shift.\n\n"
            "To sync: request `?since=<the newest occurred_at you hold>` and follow `next` "
            "until it is null; store the newest `occurred_at` of the first page for the next "
            "run, or keep a page's `next` to resume an interrupted run. Overlap `since` by a "
            "minute and skip event ids (`id`, a uuid) you already have: an event is visible "
            "once its transaction commits, which can be a moment after its `occurred_at`."
        ),
        responses={200: EventSerializer(many=True), **error_responses(400)},
        examples=[
            OpenApiExample(
                "An interaction logged",
                response_only=True,
                value={
                    "id": "0b8a6c3e-5f1e-4f7a-9a61-1a2b3c4d5e6f",
                    "occurred_at": "2026-12-04T10:15:00Z",
                    "verb": "interaction.logged",
                    "says": "logged an interaction",
                    "actor": 3,
                    "actor_name": "Alex Manager",
                    "via": "web",
                    "subject": {
                        "type": "relationships.interaction",
                        "id": 812,
                        "label": "Meeting on 2026-12-04",
                    },
                    "relationship": 12,
                    "stakeholder": 7,
                    "team": 2,
                    "data": {"channel": "meeting", "sentiment": 1, "summary": "…"},
                },
            )
        ],
    ),
    retrieve=extend_schema(
        summary="Read an event",
        description="One event by its id (a uuid). An event you may not see answers 404.",
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: EventSerializer, **error_responses(404)},
    ),
)
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The event log: who did what, when, to which record."""

    serializer_class = EventSerializer
    pagination_class = EventPagination
    # No ?ordering=: the cursor is a position in the pagination's fixed order.
    filter_backends = [VisibleIdsFilterBackend]
    filterset_class = EventFilter
    lookup_field = "uuid"
    lookup_url_kwarg = "pk"  # "{id}" in the OpenAPI document, like every other detail
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        return selectors.events_visible_to(self.request.user)

    def get_object(self) -> Event:
        try:
            return selectors.get_event_for(self.request.user, self.kwargs["pk"])
        except (Event.DoesNotExist, ValidationError, ValueError):
            raise Http404("No such event") from None


ROUTES = [("events", EventViewSet, "event")]

"""API for relationships and their records: the lifecycle, interactions, commitments, value;
and the relationship types (read only: admins keep them in the administration).

Thin by design (see STYLE.md): input serializers check shape and types, then the same
relationships.services functions as the HTMX views write (lifecycle guards, optimistic
concurrency, history, health); output serializers render.

Visibility comes from relationships.selectors (accounts.permissions underneath): a record the
caller may not see is absent from lists, answers 404, and an id naming it in a request body
is refused as "does not exist", so a confidential relationship leaks nothing. A visible
record the caller may not change answers 403 from the service (``permission_denied``).

Mass assignment: ``stage`` changes only through ``POST relationships/{id}/transition/``;
``version``, ``health_score``, dates kept by the lifecycle and ``created_by`` are never
writable; unknown fields in a body are ignored.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Role, Team, User
from core.api import (
    CONFLICT_EXAMPLE,
    FILTER_BACKENDS,
    LONG_TEXT,
    EnumField,
    IdsRelatedField,
    NamedSearchFilter,
    NewestFirstCursorPagination,
    StrictBooleanFilter,
    StrictCharField,
    VisibleIdsFilterBackend,
    error_responses,
    rule_error_example,
)
from relationships import selectors, services
from relationships.filters import RelationshipFilter
from relationships.models import (
    Commitment,
    Interaction,
    Relationship,
    RelationshipType,
    Stage,
    StageTransition,
    ValueRecord,
)
from stakeholders.models import Contact, Stakeholder
from workflows import lifecycle


class VisibleRelationshipField(serializers.PrimaryKeyRelatedField):
    """A relationship id the caller may see; any other id "does not exist"."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Relationship.objects.all(), **kwargs)

    def get_queryset(self):
        return selectors.relationships_visible_to(self.context["request"].user)


def _managers():
    # The same people the web form offers as relationship managers.
    return User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.ADMIN])


def _people_of(relationship: Relationship):
    """Who can take part or own a follow-up: the web form's list (its team, or its manager)."""
    if relationship.team_id:
        return User.objects.filter(teams=relationship.team_id, is_active=True)
    return User.objects.filter(pk=relationship.manager_id)


# --- Relationship types ---------------------------------------------------------------


class RelationshipTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RelationshipType
        fields = ["id", "name", "default_review_cadence_days"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List relationship types",
        description="The forms a relationship takes (strategic partner, donor …): the ids a "
        "relationship's `type` takes (and the `type` filters of the relationship list and "
        "the dashboard), with the review cadence each suggests. Admins keep the list in the "
        "administration.",
    ),
    retrieve=extend_schema(
        summary="Read a relationship type",
        responses={200: RelationshipTypeSerializer, **error_responses(404)},
    ),
)
class RelationshipTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Relationship types (read only): shared reference data every signed-in user reads."""

    serializer_class = RelationshipTypeSerializer
    queryset = RelationshipType.objects.order_by("name", "pk")
    filter_backends = FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["name", "default_review_cadence_days", "id"]


# --- Relationships --------------------------------------------------------------------


class RelationshipSerializer(serializers.ModelSerializer):
    stage = EnumField(Stage.choices, "Stage", read_only=True)
    stakeholder_name = StrictCharField(source="stakeholder.name", read_only=True)
    type_name = StrictCharField(source="type.name", read_only=True, allow_null=True)
    manager_name = serializers.SerializerMethodField()
    team_name = StrictCharField(source="team.name", read_only=True, allow_null=True)
    health_band = StrictCharField(read_only=True)
    health_reasons = serializers.ListField(child=StrictCharField(), read_only=True)

    class Meta:
        model = Relationship
        fields = [
            "id",
            "stakeholder",
            "stakeholder_name",
            "type",
            "type_name",
            "stage",
            "manager",
            "manager_name",
            "team",
            "team_name",
            "confidential",
            "is_key",
            "purpose",
            "started_on",
            "ended_on",
            "end_reason",
            "review_cadence_days",
            "next_review_on",
            "partnering_session_on",
            "partnering_session_notes",
            "health_score",
            "health_band",
            "health_reasons",
            "last_interaction_on",
            "manager_rating",
            "manager_rating_note",
            "manager_rating_on",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_manager_name(self, relationship: Relationship) -> str | None:
        manager = relationship.manager
        return (manager.get_full_name() or manager.username) if manager else None


class _RelationshipFields(serializers.Serializer):
    type = serializers.PrimaryKeyRelatedField(
        queryset=RelationshipType.objects.all(),
        allow_null=True,
        required=False,
        help_text="The form it takes (strategic partner, donor …), a relationship type's id "
        "(`GET /api/v1/relationship-types/`); needed before presenting.",
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=_managers(),
        allow_null=True,
        required=False,
        help_text="The relationship manager (a manager or admin); needed before presenting.",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        allow_null=True,
        required=False,
        help_text="Owning team: one of yours (admins: any).",
    )
    confidential = serializers.BooleanField(
        required=False, help_text="Visible only to its team, its manager, executives, admins."
    )
    is_key = serializers.BooleanField(required=False)
    purpose = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)
    review_cadence_days = serializers.IntegerField(
        min_value=7,
        max_value=730,
        allow_null=True,
        required=False,
        help_text="Days between reviews; null uses the type's default.",
    )


class RelationshipCreateSerializer(_RelationshipFields):
    stakeholder = serializers.PrimaryKeyRelatedField(queryset=Stakeholder.objects.all())


class RelationshipUpdateSerializer(_RelationshipFields):
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read: a newer one answers 409."
    )
    partnering_session_on = serializers.DateField(allow_null=True, required=False)
    partnering_session_notes = StrictCharField(
        max_length=LONG_TEXT, allow_blank=True, required=False
    )


class TransitionInputSerializer(serializers.Serializer):
    to_stage = EnumField(Stage.choices, "Stage")
    note = StrictCharField(
        max_length=LONG_TEXT,
        allow_blank=True,
        required=False,
        default="",
        help_text="Why; required when ending the relationship.",
    )
    expected_stage = EnumField(
        Stage.choices,
        "Stage",
        required=False,
        help_text="The stage you saw: if it moved meanwhile, the move is refused "
        "(`stage_changed`).",
    )


class StageTransitionSerializer(serializers.ModelSerializer):
    from_stage = EnumField(Stage.choices, "Stage", read_only=True)
    to_stage = EnumField(Stage.choices, "Stage", read_only=True)
    by_name = serializers.SerializerMethodField()

    class Meta:
        model = StageTransition
        fields = ["id", "relationship", "from_stage", "to_stage", "by", "by_name", "at", "note"]
        read_only_fields = fields

    def get_by_name(self, transition: StageTransition) -> str | None:
        by = transition.by
        return (by.get_full_name() or by.username) if by else None


class TransitionResultSerializer(StageTransitionSerializer):
    relationship_state = RelationshipSerializer(
        source="relationship", read_only=True, help_text="The relationship after the move."
    )

    class Meta(StageTransitionSerializer.Meta):
        fields = [*StageTransitionSerializer.Meta.fields, "relationship_state"]
        read_only_fields = fields


class RatingInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    note = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)


@extend_schema_view(
    list=extend_schema(
        summary="List relationships",
        description="The relationships you may see (confidential ones only with their team, "
        "manager, executives and admins), with the web list's filters and `sort`.",
        parameters=[
            # The filter's "No manager" choice: the generated parameter said integer only.
            OpenApiParameter(
                "manager",
                {"type": "string", "pattern": r"^([0-9]+|null)$"},
                description="A manager's id, or `null` for relationships nobody manages.",
            )
        ],
    ),
    retrieve=extend_schema(
        summary="Read a relationship",
        responses={200: RelationshipSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Open a relationship",
        description="Managers and admins. It starts in Identify; a manager with one team puts "
        "it in that team by default. Stage, health and version are not writable.",
        request=RelationshipCreateSerializer,
        responses={201: RelationshipSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Open",
                value={"stakeholder": 7, "type": 1, "manager": 3, "purpose": "Joint research"},
                request_only=True,
            ),
            rule_error_example(
                "team_not_allowed", "You can only assign one of your own teams.", "team"
            ),
        ],
    ),
    partial_update=extend_schema(
        summary="Edit a relationship",
        description="Its manager, its team's managers and admins. Send `version` as read: if "
        "someone saved since, nothing is written and the answer is 409 naming their changes. "
        "`stage` is not editable here: use the transition action.",
        request=RelationshipUpdateSerializer,
        responses={200: RelationshipSerializer, **error_responses(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "Edit", value={"version": 4, "purpose": "Grow together"}, request_only=True
            ),
            CONFLICT_EXAMPLE,
        ],
    ),
)
class RelationshipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Relationships with stakeholders and their lifecycle: Identify → Present → Pilot →
    Build → Review (→ Build / Present / Ended)."""

    serializer_class = RelationshipSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = RelationshipFilter
    search_fields = ["stakeholder__name", "purpose"]
    ordering_fields = ["health_score", "last_interaction_on", "next_review_on", "created_at", "id"]

    def get_queryset(self):
        return selectors.relationships_visible_to(self.request.user)

    def _render(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        relationship = self.get_queryset().get(pk=pk)
        return Response(RelationshipSerializer(relationship).data, status=code)

    def create(self, request, *args, **kwargs):
        data = RelationshipCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        relationship = lifecycle.relationship_open(by=request.user, **data.validated_data)
        return self._render(relationship.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        relationship = self.get_object()
        data = RelationshipUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        expected = changes.pop("version")
        lifecycle.relationship_edit(
            relationship=relationship, by=request.user, expected_version=expected, **changes
        )
        return self._render(relationship.pk)

    @extend_schema(
        summary="Move a relationship to another stage",
        description="The lifecycle's guards apply, as on the board: Present needs a type and "
        "a manager; Pilot needs a partnering work session; Build (from Pilot) needs a pilot "
        "key experience with its outcome; Ended needs a reason in `note`. A refused move "
        "answers 400 with a stable `code` (`illegal_transition`, `type_required`, "
        "`manager_required`, `partnering_session_required`, `key_experience_required`, "
        "`reason_required`, `already_in_stage`, `stage_changed`) and every missing condition "
        "in `problems`. The move is recorded in the transition history.",
        request=TransitionInputSerializer,
        responses={201: TransitionResultSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "Present",
                value={"to_stage": "present", "note": "Type agreed", "expected_stage": "identify"},
                request_only=True,
            ),
            OpenApiExample(
                "End",
                value={"to_stage": "ended", "note": "Their priorities moved elsewhere."},
                request_only=True,
            ),
            OpenApiExample(
                "missing conditions",
                value={
                    "code": "type_required",
                    "detail": "Choose the relationship type (the form it takes) before "
                    "presenting. Name a relationship manager before presenting.",
                    "problems": [
                        {
                            "code": "type_required",
                            "detail": "Choose the relationship type (the form it takes) "
                            "before presenting.",
                            "field": "type",
                        },
                        {
                            "code": "manager_required",
                            "detail": "Name a relationship manager before presenting.",
                            "field": "manager",
                        },
                    ],
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        relationship = self.get_object()
        data = TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transition = lifecycle.relationship_move(
            relationship=relationship,
            by=request.user,
            to_stage=data.validated_data["to_stage"],
            note=data.validated_data["note"],
            expected_stage=data.validated_data.get("expected_stage"),
        )
        transition = StageTransition.objects.select_related(
            "by",
            "relationship__stakeholder",
            "relationship__type",
            "relationship__manager",
            "relationship__team",
        ).get(pk=transition.pk)
        return Response(TransitionResultSerializer(transition).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The relationship's stage history",
        description="Every change of stage: from, to, who, when and why; newest first.",
        responses={200: StageTransitionSerializer(many=True), **error_responses(404)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def transitions(self, request, pk=None):
        relationship = self.get_object()
        queryset = relationship.transitions.select_related("by").order_by("-at", "-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(StageTransitionSerializer(page, many=True).data)

    @extend_schema(
        summary="Rate the relationship",
        description="The manager's own view (1–5), shown beside the computed health. Its "
        "manager, its team's managers and admins.",
        request=RatingInputSerializer,
        responses={200: RelationshipSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample("Rating", value={"rating": 4, "note": "Warm again"}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"])
    def rating(self, request, pk=None):
        relationship = self.get_object()
        data = RatingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.relationship_rate(
            relationship=relationship, by=request.user, **data.validated_data
        )
        return self._render(relationship.pk)


# --- Interactions ---------------------------------------------------------------------


class InteractionSerializer(serializers.ModelSerializer):
    channel = EnumField(Interaction.Channel.choices, "InteractionChannel", read_only=True)
    outcome = EnumField(
        Interaction.Outcome.choices, "InteractionOutcome", allow_blank=True, read_only=True
    )
    participant_users = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    participant_contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    follow_ups = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Commitments created with it."
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "relationship",
            "occurred_on",
            "channel",
            "summary",
            "sentiment",
            "participant_users",
            "participant_contacts",
            "is_key_experience",
            "outcome",
            "follow_ups",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class FollowUpSerializer(serializers.Serializer):
    description = StrictCharField(max_length=LONG_TEXT)
    due_on = serializers.DateField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Someone of the relationship's team; defaults to you.",
    )


class InteractionInputSerializer(serializers.Serializer):
    relationship = VisibleRelationshipField()
    occurred_on = serializers.DateField(help_text="Not in the future.")
    channel = EnumField(Interaction.Channel.choices, "InteractionChannel")
    summary = StrictCharField(max_length=LONG_TEXT)
    sentiment = serializers.IntegerField(min_value=-2, max_value=2, default=0)
    participant_users = IdsRelatedField(
        queryset=User.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Our people: members of the relationship's team.",
    )
    participant_contacts = IdsRelatedField(
        queryset=Contact.objects.all(),
        many=True,
        required=False,
        help_text="Their people: contacts of the relationship's stakeholder.",
    )
    is_key_experience = serializers.BooleanField(default=False)
    outcome = EnumField(
        Interaction.Outcome.choices,
        "InteractionOutcome",
        allow_blank=True,
        default="",
        help_text="Required for a key experience, empty otherwise.",
    )
    follow_up = FollowUpSerializer(
        required=False, allow_null=True, help_text="A commitment we made, created with it."
    )

    def validate(self, attrs: dict) -> dict:
        people = _people_of(attrs["relationship"])
        allowed = set(people.values_list("pk", flat=True))
        outsiders = [u for u in attrs.get("participant_users", []) if u.pk not in allowed]
        if outsiders:
            raise serializers.ValidationError(
                {"participant_users": f"{outsiders[0]} is not in the relationship's team."}
            )
        owner = (attrs.get("follow_up") or {}).get("owner")
        if owner is not None and owner.pk not in allowed:
            raise serializers.ValidationError(
                {"follow_up": {"owner": f"{owner} is not in the relationship's team."}}
            )
        return attrs


class InteractionFilter(django_filters.FilterSet):
    relationship = django_filters.ModelChoiceFilter(queryset=Relationship.objects.all())
    is_key_experience = StrictBooleanFilter()
    occurred_after = django_filters.DateFilter(field_name="occurred_on", lookup_expr="gte")
    occurred_before = django_filters.DateFilter(field_name="occurred_on", lookup_expr="lte")

    class Meta:
        model = Interaction
        fields = [
            "relationship",
            "channel",
            "is_key_experience",
            "outcome",
            "occurred_after",
            "occurred_before",
        ]


class InteractionPagination(NewestFirstCursorPagination):
    # The longest list by far (hundreds of thousands of rows): a cursor needs no COUNT(*).
    ordering = ("-occurred_on", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="List interactions",
        description="Interactions on relationships you may see, newest first (by date, then "
        "by id); the order is fixed. The list is too long to count, so it is paged by cursor: "
        "follow `next` and `previous` (each carries the filters and `page_size`) until "
        "`next` is null; there is no `count` and no page number (`page`, `offset` and `limit` "
        "answer 400 `paged_by_cursor`).",
    ),
    retrieve=extend_schema(
        summary="Read an interaction",
        responses={200: InteractionSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Log an interaction",
        description="Anyone who may change the relationship, and contributors of its team. "
        "A `follow_up` creates a commitment (we promised) in the same transaction. A pilot "
        "key experience needs its outcome. Health is recomputed.",
        request=InteractionInputSerializer,
        responses={201: InteractionSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Meeting with a follow-up",
                value={
                    "relationship": 12,
                    "occurred_on": "2025-05-02",
                    "channel": "meeting",
                    "summary": "Agreed the pilot's scope.",
                    "sentiment": 1,
                    "participant_users": [3],
                    "follow_up": {"description": "Send the draft plan", "due_on": "2025-05-09"},
                },
                request_only=True,
            ),
            rule_error_example(
                "outcome_required",
                "A key experience needs its outcome: success, learning or disappointment.",
                "outcome",
            ),
        ],
    ),
)
class InteractionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Meetings, calls, e-mails, events … logged on a relationship."""

    serializer_class = InteractionSerializer
    pagination_class = InteractionPagination
    # No ?ordering=: the cursor is a position in the pagination's fixed order.
    filter_backends = [VisibleIdsFilterBackend, NamedSearchFilter]
    filterset_class = InteractionFilter
    search_fields = ["summary", "relationship__stakeholder__name"]

    def get_queryset(self):
        return (
            selectors.interactions_visible_to(self.request.user)
            .prefetch_related(
                "participant_users",
                "participant_contacts",
                Prefetch(
                    "follow_ups", queryset=Commitment.objects.only("id", "source_interaction")
                ),
            )
            .order_by("-occurred_on", "-pk")
        )

    def create(self, request, *args, **kwargs):
        data = InteractionInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        follow_up = fields.pop("follow_up", None)
        interaction = services.interaction_log(
            by=request.user,
            follow_up=services.FollowUp(**follow_up) if follow_up else None,
            **fields,
        )
        interaction = self.get_queryset().get(pk=interaction.pk)
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)


# --- Commitments ----------------------------------------------------------------------


class CommitmentSerializer(serializers.ModelSerializer):
    direction = EnumField(Commitment.Direction.choices, "CommitmentDirection", read_only=True)
    status = EnumField(Commitment.Status.choices, "CommitmentStatus", read_only=True)

    class Meta:
        model = Commitment
        fields = [
            "id",
            "relationship",
            "direction",
            "description",
            "due_on",
            "owner",
            "status",
            "source_interaction",
            "closed_on",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class CommitmentInputSerializer(serializers.Serializer):
    relationship = VisibleRelationshipField()
    direction = EnumField(Commitment.Direction.choices, "CommitmentDirection")
    description = StrictCharField(max_length=LONG_TEXT)
    due_on = serializers.DateField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Someone of the relationship's team; defaults to you.",
    )

    def validate(self, attrs: dict) -> dict:
        owner = attrs.get("owner")
        if owner is not None and not _people_of(attrs["relationship"]).filter(pk=owner.pk).exists():
            raise serializers.ValidationError(
                {"owner": f"{owner} is not in the relationship's team."}
            )
        return attrs


class CommitmentStatusSerializer(serializers.Serializer):
    status = EnumField(Commitment.Status.choices, "CommitmentStatus")


class CommitmentFilter(django_filters.FilterSet):
    relationship = django_filters.ModelChoiceFilter(queryset=Relationship.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    due_after = django_filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = Commitment
        fields = ["relationship", "direction", "status", "owner", "due_after", "due_before"]


@extend_schema_view(
    list=extend_schema(
        summary="List commitments",
        description="Promises on relationships you may see, soonest due first.",
    ),
    retrieve=extend_schema(
        summary="Read a commitment", responses={200: CommitmentSerializer, **error_responses(404)}
    ),
    create=extend_schema(
        summary="Record a commitment",
        description="What we or they promised. Anyone who may change the relationship, and "
        "contributors of its team.",
        request=CommitmentInputSerializer,
        responses={201: CommitmentSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Ours",
                value={
                    "relationship": 12,
                    "direction": "ours",
                    "description": "Share the annual report",
                    "due_on": "2025-06-30",
                },
                request_only=True,
            )
        ],
    ),
)
class CommitmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Promises made in a relationship, by us or by them, and whether they were kept."""

    serializer_class = CommitmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = CommitmentFilter
    search_fields = ["description", "relationship__stakeholder__name"]
    ordering_fields = ["due_on", "created_at", "status", "id"]

    def get_queryset(self):
        return selectors.commitments_visible_to(self.request.user).order_by("due_on", "pk")

    def create(self, request, *args, **kwargs):
        data = CommitmentInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["owner"] = fields.get("owner") or request.user  # as on the web form: "me"
        commitment = services.commitment_create(by=request.user, **fields)
        return Response(CommitmentSerializer(commitment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark a commitment open, kept, broken or dropped",
        description="Anyone who may contribute to the relationship. Kept/broken promises feed "
        "the relationship's health.",
        request=CommitmentStatusSerializer,
        responses={200: CommitmentSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Kept", value={"status": "kept"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        commitment = self.get_object()
        data = CommitmentStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.commitment_set_status(
            commitment=commitment, by=request.user, status=data.validated_data["status"]
        )
        return Response(CommitmentSerializer(commitment).data)


# --- Value records --------------------------------------------------------------------


class ValueRecordSerializer(serializers.ModelSerializer):
    kind = EnumField(ValueRecord.Kind.choices, "ValueRecordKind", read_only=True)

    class Meta:
        model = ValueRecord
        fields = [
            "id",
            "relationship",
            "recorded_on",
            "kind",
            "amount",
            "unit",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ValueRecordInputSerializer(serializers.Serializer):
    relationship = VisibleRelationshipField()
    recorded_on = serializers.DateField(help_text="Not in the future.")
    kind = EnumField(ValueRecord.Kind.choices, "ValueRecordKind")
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Required unless the kind is qualitative.",
    )
    unit = StrictCharField(
        max_length=20, allow_blank=True, required=False, help_text="GBP, EUR, hours …"
    )
    note = StrictCharField(
        max_length=LONG_TEXT,
        allow_blank=True,
        required=False,
        help_text="Required for qualitative value.",
    )


class ValueRecordFilter(django_filters.FilterSet):
    relationship = django_filters.ModelChoiceFilter(queryset=Relationship.objects.all())
    recorded_after = django_filters.DateFilter(field_name="recorded_on", lookup_expr="gte")
    recorded_before = django_filters.DateFilter(field_name="recorded_on", lookup_expr="lte")

    class Meta:
        model = ValueRecord
        fields = ["relationship", "kind", "recorded_after", "recorded_before"]


@extend_schema_view(
    list=extend_schema(
        summary="List value records",
        description="Value a relationship created, in quantitative and qualitative terms, "
        "newest first; relationships you may see only.",
    ),
    retrieve=extend_schema(
        summary="Read a value record",
        responses={200: ValueRecordSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Record value",
        description="Quantitative kinds need a non-negative amount and a unit (currency codes "
        "are capitalised); qualitative value needs a note. Not in the future.",
        request=ValueRecordInputSerializer,
        responses={201: ValueRecordSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Revenue",
                value={
                    "relationship": 12,
                    "recorded_on": "2025-04-30",
                    "kind": "revenue",
                    "amount": "12500.00",
                    "unit": "GBP",
                },
                request_only=True,
            ),
            rule_error_example("unit_required", "Enter the unit (GBP, hours …).", "unit"),
        ],
    ),
)
class ValueRecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Value created by a relationship: revenue, savings, referrals, hours, or in words."""

    serializer_class = ValueRecordSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ValueRecordFilter
    search_fields = ["note", "relationship__stakeholder__name"]
    ordering_fields = ["recorded_on", "amount", "created_at", "id"]

    def get_queryset(self):
        return selectors.value_records_visible_to(self.request.user).order_by("-recorded_on", "-pk")

    def create(self, request, *args, **kwargs):
        data = ValueRecordInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        record = services.value_record_create(by=request.user, **data.validated_data)
        return Response(ValueRecordSerializer(record).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("relationships", RelationshipViewSet, "relationship"),
    ("interactions", InteractionViewSet, "interaction"),
    ("commitments", CommitmentViewSet, "commitment"),
    ("value-records", ValueRecordViewSet, "value-record"),
    ("relationship-types", RelationshipTypeViewSet, "relationship-type"),
]

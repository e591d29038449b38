"""API: the cascade of objectives, plans and their initiatives.

Thin views over plans.services (every write) and plans.selectors (the tree, the totals):
the same rules, history and errors as the pages. Everyone signed in reads; managers and
admins write (accounts.permissions.may_edit_plans), anyone else gets 403 before their
input is even parsed.

The shared pieces (error schema, stable ordering, strict booleans, the permission that
answers with a business-rule body) come from core/api.py.
"""

from __future__ import annotations

from functools import cached_property

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import permissions as drf_permissions
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import permissions
from accounts.models import User
from core.api import (
    FILTER_BACKENDS,
    EnumField,
    IdsFilter,
    IdsRelatedField,
    RuleBasedWritePermission,
    StrictBooleanFilter,
    StrictCharField,
    TokenScopePermission,
    error_responses,
    refuse_paging,
)
from core.errors import RuleViolation
from core.limits import LONG_TEXT
from plans import selectors, services
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from relationships.models import Relationship


class MayEditPlans(RuleBasedWritePermission):
    message = "Only relationship managers and admins edit objectives and plans."

    def allowed(self, user) -> bool:
        return permissions.may_edit_plans(user)


def _people() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def _permission_classes(extra) -> list:
    return [drf_permissions.IsAuthenticated, TokenScopePermission, extra]


# --- Objectives -------------------------------------------------------------------------


class ObjectiveLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ObjectiveLevel
        fields = ["id", "name", "position"]


class ObjectiveLevelViewSet(viewsets.ReadOnlyModelViewSet):
    """Steps of the cascade (networking vision, strategic objective …), top first. Admins
    edit them in the administration."""

    serializer_class = ObjectiveLevelSerializer
    queryset = ObjectiveLevel.objects.order_by("position", "name", "id")
    filter_backends = FILTER_BACKENDS
    ordering_fields = ["position", "name", "id"]


class _Progress:
    """Rolled-up progress of every objective, computed once per request (one query) and
    only if a response needs it."""

    @cached_property
    def by_pk(self) -> dict[int, float]:
        return {pk: node.progress for pk, node in selectors.objective_tree().by_pk.items()}


class ObjectiveSerializer(serializers.ModelSerializer):
    status = EnumField(Objective.Status.choices, "ObjectiveStatusEnum", read_only=True)
    level_name = StrictCharField(source="level.name", read_only=True)
    kpi_progress = serializers.FloatField(
        read_only=True, allow_null=True, help_text="0–100 toward the KPI target; null without one."
    )
    progress = serializers.SerializerMethodField(
        help_text="0–100, rolled up from the KPI and the sub-objectives (see plans.selectors)."
    )

    class Meta:
        model = Objective
        fields = [
            "id",
            "parent",
            "level",
            "level_name",
            "title",
            "description",
            "owner",
            "period",
            "target_date",
            "status",
            "kpi_name",
            "kpi_unit",
            "kpi_baseline",
            "kpi_target",
            "kpi_current",
            "kpi_progress",
            "progress",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_progress(self, objective: Objective) -> float:
        progress = self.context.get("progress")
        value = progress.by_pk.get(objective.pk) if progress is not None else None
        return round(value, 1) if value is not None else 0.0


class ObjectiveInputSerializer(serializers.Serializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Objective.objects.all(),
        allow_null=True,
        required=False,
        help_text="The objective this one contributes to; null for a top of the cascade.",
    )
    level = serializers.PrimaryKeyRelatedField(queryset=ObjectiveLevel.objects.all())
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=_people(), allow_null=True, required=False)
    period = StrictCharField(max_length=40, required=False, allow_blank=True)
    target_date = serializers.DateField(required=False, allow_null=True)
    status = EnumField(Objective.Status.choices, "ObjectiveStatusEnum", required=False)
    kpi_name = StrictCharField(max_length=120, required=False, allow_blank=True)
    kpi_unit = StrictCharField(max_length=30, required=False, allow_blank=True)
    kpi_baseline = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    kpi_target = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )


class ObjectiveMoveSerializer(serializers.Serializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Objective.objects.all(),
        allow_null=True,
        help_text="The new parent; null moves the objective to the top of the cascade.",
    )


class MeasurementInputSerializer(serializers.Serializer):
    measured_on = serializers.DateField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    note = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class MeasurementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    objective = serializers.IntegerField(source="objective_id")
    measured_on = serializers.DateField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    note = StrictCharField()


class ObjectiveNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    title = StrictCharField()
    level = serializers.IntegerField(source="level_id")
    level_name = StrictCharField(source="level.name")
    status = EnumField(Objective.Status.choices, "ObjectiveStatusEnum")
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    kpi_progress = serializers.FloatField(allow_null=True)
    progress = serializers.SerializerMethodField()
    depth = serializers.IntegerField()
    descendant_count = serializers.IntegerField()

    def get_progress(self, node: Objective) -> float:
        return round(node.progress, 1)


# A recursive field: declared after the class exists (drf-spectacular renders it as a $ref).
ObjectiveNodeSerializer._declared_fields["children"] = ObjectiveNodeSerializer(
    source="child_nodes", many=True, read_only=True
)


class ObjectiveFilter(filters.FilterSet):
    top = StrictBooleanFilter(
        field_name="parent", lookup_expr="isnull", label="Only tops of the cascade (no parent)."
    )

    class Meta:
        model = Objective
        fields = ["status", "level", "parent", "owner"]


DELETE_CHILDREN = OpenApiParameter(
    "children",
    str,
    enum=["reattach", "delete"],
    description="What happens to its sub-objectives: `reattach` moves them up to its parent, "
    "`delete` deletes the whole branch. Required when it has sub-objectives.",
)


@extend_schema_view(
    list=extend_schema(description="Objectives in cascade order, each with rolled-up progress."),
    retrieve=extend_schema(
        description="One objective.", responses={200: ObjectiveSerializer, **error_responses(404)}
    ),
)
class ObjectiveViewSet(viewsets.ModelViewSet):
    """The cascade of objectives (vision → strategic objectives → … → initiatives)."""

    serializer_class = ObjectiveSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = _permission_classes(MayEditPlans)
    filter_backends = FILTER_BACKENDS
    filterset_class = ObjectiveFilter
    search_fields = ["title", "description"]
    ordering_fields = ["id", "title", "target_date", "status", "level__position"]
    ordering = ["level__position", "title", "id"]

    def get_queryset(self) -> QuerySet[Objective]:
        return selectors.objectives_with_relations().order_by(*self.ordering)

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "progress": _Progress()}

    def _output(self, objective: Objective, code: int = status.HTTP_200_OK) -> Response:
        objective = selectors.get_objective(objective.pk)
        return Response(self.get_serializer(objective).data, status=code)

    @extend_schema(
        description="Add an objective to the cascade.",
        request=ObjectiveInputSerializer,
        responses={201: ObjectiveSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "A strategic objective under the vision",
                value={
                    "parent": 1,
                    "level": 2,
                    "title": "Grow partner-sourced revenue",
                    "status": "active",
                    "kpi_name": "Partner revenue",
                    "kpi_unit": "GBP",
                    "kpi_baseline": "0.00",
                    "kpi_target": "250000.00",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A KPI without a target",
                value={
                    "code": "kpi_target_required",
                    "detail": "A KPI needs a target value.",
                    "field": "kpi_target",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        data = ObjectiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objective = services.objective_create(by=request.user, **data.validated_data)
        return self._output(objective, status.HTTP_201_CREATED)

    @extend_schema(
        description="Edit some fields; a new `parent` moves the objective (cycles refused "
        "with code `cycle`).",
        request=ObjectiveInputSerializer(partial=True),
        responses={200: ObjectiveSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Mark achieved", value={"status": "achieved"}, request_only=True)],
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        objective = self.get_object()
        data = ObjectiveInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        parent = fields.pop("parent") if "parent" in fields else False
        objective = services.objective_update(
            objective=objective, by=request.user, parent=parent, **fields
        )
        return self._output(objective)

    @extend_schema(
        description="Delete the objective. Initiatives serving it then serve none (the "
        "contribution check lists them).",
        parameters=[DELETE_CHILDREN],
        responses={204: None, **error_responses(400, 403, 404)},
    )
    def destroy(self, request: Request, pk=None) -> Response:
        objective = self.get_object()
        choice = request.query_params.get("children")
        if choice is None:
            if objective.children.exists():
                raise RuleViolation(
                    "children_choice_required",
                    "It has sub-objectives: say what happens to them with "
                    "?children=reattach (move them up) or ?children=delete (the whole branch).",
                    "children",
                )
            choice = "reattach"
        services.objective_delete(objective=objective, by=request.user, children=choice)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        description="Move the objective (with its branch) under another, or to the top with "
        "`null`. Moving it under itself or one of its own sub-objectives answers 400 with "
        "code `cycle`.",
        request=ObjectiveMoveSerializer,
        responses={200: ObjectiveSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample("Move under objective 3", value={"parent": 3}, request_only=True),
            OpenApiExample("Move to the top", value={"parent": None}, request_only=True),
            OpenApiExample(
                "A cycle",
                value={
                    "code": "cycle",
                    "detail": "“Vision” cannot move under “Revenue”: “Revenue” is one of its "
                    "own sub-objectives, so the cascade would loop.",
                    "field": "parent",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk=None) -> Response:
        objective = self.get_object()
        data = ObjectiveMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.objective_move(
            objective=objective, new_parent=data.validated_data["parent"], by=request.user
        )
        return self._output(objective)

    @extend_schema(
        description="Record a dated KPI value; the objective's current value becomes the "
        "latest by date. Refused with `no_kpi` when the objective has no KPI and target.",
        request=MeasurementInputSerializer,
        responses={201: MeasurementSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "A quarter's figure",
                value={"measured_on": "2026-06-30", "value": "82000.00", "note": "Q1"},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def measurements(self, request: Request, pk=None) -> Response:
        objective = self.get_object()
        data = MeasurementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        measurement = services.kpi_measurement_record(
            objective=objective, by=request.user, **data.validated_data
        )
        return Response(MeasurementSerializer(measurement).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        description="The whole cascade as a tree, each node with rolled-up progress, computed "
        "from one query. `root` limits it to one objective's branch. Not paged: one answer "
        "holds the whole tree (`page`, `page_size`, `cursor` answer 400 `not_paged`).",
        parameters=[OpenApiParameter("root", int, description="Only this objective's branch.")],
        responses={200: ObjectiveNodeSerializer(many=True), **error_responses(404)},
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def tree(self, request: Request) -> Response:
        refuse_paging(request)
        tree = selectors.objective_tree()
        roots = tree.roots
        root = request.query_params.get("root")
        if root is not None:
            try:
                node = tree.by_pk.get(int(root))
            except ValueError:  # not a number ("²" passes str.isdigit but not int)
                node = None
            if node is None:
                raise RuleViolation("unknown_objective", "No such objective.", "root")
            roots = [node]
        return Response(ObjectiveNodeSerializer(roots, many=True).data)


# --- Plans ------------------------------------------------------------------------------


class PlanSerializer(serializers.ModelSerializer):
    objectives = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    initiative_count = serializers.IntegerField(read_only=True)
    objective_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "title",
            "period",
            "owner",
            "start_on",
            "end_on",
            "currency",
            "description",
            "objectives",
            "initiative_count",
            "objective_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HoursSerializer(serializers.Serializer):
    planned = serializers.DecimalField(max_digits=14, decimal_places=2)
    spent = serializers.DecimalField(max_digits=14, decimal_places=2)


class BudgetSerializer(serializers.Serializer):
    currency = StrictCharField()
    planned = serializers.DecimalField(max_digits=16, decimal_places=2)
    spent = serializers.DecimalField(max_digits=16, decimal_places=2)
    over = serializers.BooleanField()


class PlanTotalsSerializer(serializers.Serializer):
    hours = HoursSerializer()
    budgets = BudgetSerializer(many=True, help_text="One row per currency.")
    people_count = serializers.IntegerField(help_text="Distinct people involved, owners too.")


class PlanDetailSerializer(PlanSerializer):
    totals = serializers.SerializerMethodField()

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "totals"]
        read_only_fields = fields

    @extend_schema_field(PlanTotalsSerializer)
    def get_totals(self, plan: Plan) -> dict:
        hours, budgets = selectors.plan_totals(plan)
        return PlanTotalsSerializer(
            {"hours": hours, "budgets": budgets, "people_count": selectors.plan_people_count(plan)}
        ).data


class PlanInputSerializer(serializers.Serializer):
    title = StrictCharField(max_length=200)
    period = StrictCharField(max_length=40)
    owner = serializers.PrimaryKeyRelatedField(queryset=_people(), allow_null=True, required=False)
    start_on = serializers.DateField(required=False, allow_null=True)
    end_on = serializers.DateField(required=False, allow_null=True)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}\Z",
        required=False,
        help_text="Three-letter code, e.g. GBP.",
        error_messages={"invalid": "Use a three-letter currency code, e.g. GBP."},
    )
    description = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    objectives = IdsRelatedField(queryset=Objective.objects.all(), many=True, required=False)


class PlanFilter(filters.FilterSet):
    class Meta:
        model = Plan
        fields = ["period", "owner"]


@extend_schema_view(
    list=extend_schema(description="Relationship-management plans, newest period first."),
    retrieve=extend_schema(
        description="One plan with its totals: hours planned and spent, budgets per currency, "
        "people involved.",
        responses={200: PlanDetailSerializer, **error_responses(404)},
    ),
)
class PlanViewSet(viewsets.ModelViewSet):
    """Plans: what we will do in a period and who will do it (no deletion: plans are history)."""

    serializer_class = PlanSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = _permission_classes(MayEditPlans)
    filter_backends = FILTER_BACKENDS
    filterset_class = PlanFilter
    search_fields = ["title", "period", "description"]
    ordering_fields = ["id", "title", "period", "start_on", "end_on"]
    ordering = ["-start_on", "title", "id"]

    def get_queryset(self) -> QuerySet[Plan]:
        return (
            selectors.plans_list()
            .prefetch_related(Prefetch("objectives", queryset=Objective.objects.only("id")))
            .order_by(*self.ordering)
        )

    def get_serializer_class(self):
        return PlanDetailSerializer if self.action != "list" else PlanSerializer

    def _output(self, plan: Plan, code: int = status.HTTP_200_OK) -> Response:
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(
            PlanDetailSerializer(plan, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        description="Create a plan for a period.",
        request=PlanInputSerializer,
        responses={201: PlanDetailSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "FY2027",
                value={
                    "title": "Partner plan",
                    "period": "FY2027",
                    "start_on": "2026-07-01",
                    "end_on": "2027-06-30",
                    "currency": "GBP",
                    "objectives": [2],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Ends before it starts",
                value={
                    "code": "end_before_start",
                    "detail": "The end date cannot be before the start.",
                    "field": "end_on",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_create(by=request.user, **data.validated_data)
        return self._output(plan, status.HTTP_201_CREATED)

    @extend_schema(
        description="Edit some fields of a plan; `objectives` replaces the list.",
        request=PlanInputSerializer(partial=True),
        responses={200: PlanDetailSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Rename", value={"title": "Partners 2027"}, request_only=True)],
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        plan = self.get_object()
        data = PlanInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = services.plan_update(plan=plan, by=request.user, **data.validated_data)
        return self._output(plan)


# --- Initiatives ------------------------------------------------------------------------


class InitiativeSerializer(serializers.ModelSerializer):
    status = EnumField(Initiative.Status.choices, "InitiativeStatusEnum", read_only=True)
    people = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    relationships = serializers.PrimaryKeyRelatedField(
        many=True,
        read_only=True,
        help_text="The relationships it works on that you may see (confidential ones of other "
        "teams are left out).",
    )
    is_over_budget = serializers.BooleanField(read_only=True)
    is_over_hours = serializers.BooleanField(read_only=True)

    class Meta:
        model = Initiative
        fields = [
            "id",
            "plan",
            "title",
            "description",
            "objective",
            "owner",
            "people",
            "planned_hours",
            "spent_hours",
            "planned_budget",
            "spent_budget",
            "currency",
            "start_on",
            "end_on",
            "status",
            "relationships",
            "is_over_budget",
            "is_over_hours",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VisibleRelationships(IdsRelatedField):
    """Relationship ids the caller may see: any other id "does not exist"."""

    def get_queryset(self) -> QuerySet[Relationship]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return Relationship.objects.filter(permissions.relationship_scope(user))


MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": 0}
HOURS = {"max_digits": 9, "decimal_places": 2, "min_value": 0}


class InitiativeInputSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(
        queryset=Plan.objects.all(), help_text="Set on creation; an initiative stays in its plan."
    )
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    objective = serializers.PrimaryKeyRelatedField(
        queryset=Objective.objects.all(), allow_null=True, required=False
    )
    owner = serializers.PrimaryKeyRelatedField(queryset=_people(), allow_null=True, required=False)
    people = IdsRelatedField(queryset=_people(), many=True, required=False)
    planned_hours = serializers.DecimalField(**HOURS, required=False)
    spent_hours = serializers.DecimalField(**HOURS, required=False)
    planned_budget = serializers.DecimalField(**MONEY, required=False)
    spent_budget = serializers.DecimalField(**MONEY, required=False)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}\Z",
        required=False,
        allow_blank=True,
        help_text="Three-letter code; empty uses the plan's currency.",
        error_messages={"invalid": "Use a three-letter currency code, e.g. GBP."},
    )
    start_on = serializers.DateField(required=False, allow_null=True)
    end_on = serializers.DateField(required=False, allow_null=True)
    status = EnumField(Initiative.Status.choices, "InitiativeStatusEnum", required=False)
    relationships = VisibleRelationships(
        queryset=Relationship.objects.all(), many=True, required=False
    )


class InitiativeUpdateSerializer(InitiativeInputSerializer):
    plan = None  # an initiative stays in its plan


class InitiativeFilter(filters.FilterSet):
    # Only relationships the caller may see are valid choices (core.api's filter backend
    # scopes them): an invisible id answers like an unknown one, so the filter reveals
    # nothing about confidential relationships.
    relationships = IdsFilter(
        queryset=Relationship.objects.all(), label="Works on any of these relationships."
    )

    class Meta:
        model = Initiative
        fields = ["plan", "objective", "status", "owner", "relationships"]


@extend_schema_view(
    list=extend_schema(description="Initiatives of every plan, in date order."),
    retrieve=extend_schema(
        description="One initiative.", responses={200: InitiativeSerializer, **error_responses(404)}
    ),
)
class InitiativeViewSet(viewsets.ModelViewSet):
    """Initiatives: the work a plan allocates time, people and money to, each serving an
    objective and working on relationships."""

    serializer_class = InitiativeSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = _permission_classes(MayEditPlans)
    filter_backends = FILTER_BACKENDS
    filterset_class = InitiativeFilter
    search_fields = ["title", "description"]
    ordering_fields = ["id", "title", "start_on", "end_on", "status"]
    ordering = ["start_on", "title", "id"]

    def get_queryset(self) -> QuerySet[Initiative]:
        visible = Relationship.objects.filter(
            permissions.relationship_scope(self.request.user)
        ).only("id")
        return (
            Initiative.objects.select_related("plan")
            .prefetch_related(
                Prefetch("people", queryset=User.objects.only("id")),
                Prefetch("relationships", queryset=visible),
            )
            .order_by(*self.ordering)
            .distinct()
        )

    def _output(self, initiative: Initiative, code: int = status.HTTP_200_OK) -> Response:
        initiative = self.get_queryset().get(pk=initiative.pk)
        return Response(self.get_serializer(initiative).data, status=code)

    @extend_schema(
        description="Add an initiative to a plan. `relationships` may only name relationships "
        "you can see.",
        request=InitiativeInputSerializer,
        responses={201: InitiativeSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "A partnering workshop",
                value={
                    "plan": 1,
                    "title": "Joint roadmap workshop",
                    "objective": 3,
                    "owner": 4,
                    "people": [4, 7],
                    "planned_hours": "24.00",
                    "planned_budget": "3000.00",
                    "start_on": "2026-09-01",
                    "end_on": "2026-10-15",
                    "relationships": [12],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Negative budget",
                value={"planned_budget": ["Ensure this value is greater than or equal to 0."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        data = InitiativeInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        initiative = services.initiative_create(plan=fields.pop("plan"), by=request.user, **fields)
        return self._output(initiative, status.HTTP_201_CREATED)

    @extend_schema(
        description="Edit some fields; `people` and `relationships` replace their lists (links "
        "to relationships you cannot see are kept).",
        request=InitiativeUpdateSerializer(partial=True),
        responses={200: InitiativeSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample("Record time spent", value={"spent_hours": "30.50"}, request_only=True)
        ],
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        initiative = self.get_object()
        data = InitiativeUpdateSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        data.is_valid(raise_exception=True)
        initiative = services.initiative_update(
            initiative=initiative, by=request.user, **data.validated_data
        )
        return self._output(initiative)


ROUTES = [
    ("objective-levels", ObjectiveLevelViewSet, "objective-level"),
    ("objectives", ObjectiveViewSet, "objective"),
    ("plans", PlanViewSet, "plan"),
    ("initiatives", InitiativeViewSet, "initiative"),
]

"""API for the stakeholder registry: stakeholders, contacts, our values, assessments, and
the stakeholder categories (read only: admins keep them in the administration).

Thin by design (see STYLE.md): an input serializer checks shape and types, the same service
the HTMX views call does the write (rules, history, concurrency), an output serializer
renders. The registry is shared across the organisation, so every signed-in user reads it;
managers and admins write it (accounts.permissions, enforced by the services: 403).

There is no DELETE on stakeholders: duplicates are merged (``POST stakeholders/{id}/merge/``,
admins), which keeps every relationship, contact and assessment instead of losing them.

Every list accepts ``search`` and ``ordering`` (stable: ties are broken by id) like the rest of
the API. Stakeholders and contacts also accept the web list's own filters (``q``, ``sort``,
``category``, ``kind``, ``fit``, ``country``): the API reuses its FilterSet, so a web list URL's
query string means the same thing here.
"""

from __future__ import annotations

import django_filters
from django.core.validators import URLValidator
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import (
    CONFLICT_EXAMPLE,
    FILTER_BACKENDS,
    LONG_TEXT,
    EnumField,
    IdsRelatedField,
    StrictBooleanFilter,
    StrictCharField,
    error_responses,
    rule_error_example,
    rule_violation_body,
)
from core.errors import ConcurrencyConflict, RuleViolation
from stakeholders import selectors, services
from stakeholders.filters import ContactFilter, StakeholderFilter
from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value

# --- Stakeholders ---------------------------------------------------------------------


class StakeholderSerializer(serializers.ModelSerializer):
    kind = EnumField(Stakeholder.Kind.choices, "StakeholderKind", read_only=True)
    # Plain strings: blank when unknown, which "format: uri/email" would not allow.
    website = StrictCharField(read_only=True)
    email = StrictCharField(read_only=True)
    category_name = StrictCharField(source="category.name", read_only=True, allow_null=True)
    values = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    relationship_count = serializers.IntegerField(
        read_only=True, help_text="Relationships with it that you may see."
    )

    class Meta:
        model = Stakeholder
        fields = [
            "id",
            "kind",
            "name",
            "category",
            "category_name",
            "sector",
            "country",
            "website",
            "email",
            "description",
            "values",
            "value_fit",
            "power",
            "interest",
            "relationship_count",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class _StakeholderFields(serializers.Serializer):
    kind = EnumField(Stakeholder.Kind.choices, "StakeholderKind")
    name = StrictCharField(max_length=200)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        allow_null=True,
        required=False,
        help_text="A category's id (`GET /api/v1/categories/`).",
    )
    sector = StrictCharField(max_length=120, allow_blank=True, required=False)
    country = StrictCharField(max_length=80, allow_blank=True, required=False)
    website = StrictCharField(
        max_length=200,
        allow_blank=True,
        required=False,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="An http:// or https:// address.",
    )
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    description = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)
    values = IdsRelatedField(
        queryset=Value.objects.filter(active=True),
        many=True,
        required=False,
        help_text="Ids of our active values it espouses (drives value fit): "
        "`GET /api/v1/values/?active=true`.",
    )


class StakeholderCreateSerializer(_StakeholderFields):
    kind = EnumField(
        Stakeholder.Kind.choices, "StakeholderKind", default=Stakeholder.Kind.ORGANISATION
    )
    allow_duplicate = serializers.BooleanField(
        default=False,
        help_text="Create it even though one with the same name or e-mail domain exists.",
    )


class StakeholderUpdateSerializer(_StakeholderFields):
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read: a newer one answers 409."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "version":
                field.required = False


class MergeSerializer(serializers.Serializer):
    duplicate = serializers.PrimaryKeyRelatedField(
        queryset=Stakeholder.objects.all(),
        help_text="The stakeholder to fold into this one; it is deleted afterwards.",
    )


@extend_schema_view(
    list=extend_schema(
        summary="List stakeholders",
        description="Organisations and individuals in the registry, with the web list's "
        "filters. `relationship_count` counts only relationships you may see.",
    ),
    retrieve=extend_schema(
        summary="Read a stakeholder", responses={200: StakeholderSerializer, **error_responses(404)}
    ),
    create=extend_schema(
        summary="Add a stakeholder",
        description="Managers and admins. A likely duplicate (same name ignoring case and "
        "accents, or same e-mail domain) is refused with code `possible_duplicate` and the "
        "matches in `duplicates`, unless `allow_duplicate` is true.",
        request=StakeholderCreateSerializer,
        responses={201: StakeholderSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Organisation",
                value={
                    "kind": "organisation",
                    "name": "Northwind Trust",
                    "sector": "Charity",
                    "country": "United Kingdom",
                    "website": "https://northwind.example",
                    "values": [1, 2],
                },
                request_only=True,
            ),
            rule_error_example(
                "possible_duplicate",
                "“Northwind Trust” looks like the same stakeholder. Open it, or confirm that "
                "this is a different one.",
                "name",
            ),
        ],
    ),
    partial_update=extend_schema(
        summary="Edit a stakeholder",
        description="Managers and admins. Send `version` as read; if someone saved since, "
        "nothing is written and the answer is 409 with what they changed.",
        request=StakeholderUpdateSerializer,
        responses={200: StakeholderSerializer, **error_responses(400, 403, 404, 409)},
        examples=[
            OpenApiExample("Edit", value={"version": 3, "sector": "Health"}, request_only=True),
            CONFLICT_EXAMPLE,
        ],
    ),
)
class StakeholderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Organisations and individuals we have or may have relationships with."""

    serializer_class = StakeholderSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = StakeholderFilter
    search_fields = ["name", "sector", "country"]
    ordering_fields = ["name", "value_fit", "created_at", "updated_at", "id"]

    def get_queryset(self):
        return selectors.stakeholders_for(self.request.user).prefetch_related("values")

    def _render(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        stakeholder = self.get_queryset().get(pk=pk)
        return Response(StakeholderSerializer(stakeholder).data, status=code)

    def create(self, request, *args, **kwargs):
        data = StakeholderCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        values = fields.pop("values", [])
        allow_duplicate = fields.pop("allow_duplicate")
        try:
            stakeholder = services.stakeholder_create(
                by=request.user, values=values, allow_duplicate=allow_duplicate, **fields
            )
        except RuleViolation as error:
            if error.code != "possible_duplicate":
                raise
            body = rule_violation_body(error)
            body["duplicates"] = [{"id": s.pk, "name": s.name} for s in error.duplicates]
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return self._render(stakeholder.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        stakeholder = self.get_object()
        data = StakeholderUpdateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        expected = fields.pop("version")
        values = fields.pop("values", None)
        try:
            services.stakeholder_update(
                stakeholder=stakeholder,
                by=request.user,
                expected_version=expected,
                values=values,
                **fields,
            )
        except ConcurrencyConflict as error:
            # Name what the other person changed, as the web form does.
            changes = selectors.changes_since(error.current, expected)
            raise ConcurrencyConflict(error.current, error.changed_by, changes) from None
        return self._render(stakeholder.pk)

    @extend_schema(
        summary="Merge a duplicate into this stakeholder",
        description="Admins. Moves the duplicate's relationships, contacts, assessments and "
        "values here, fills this one's blanks from it, then deletes it. This is how "
        "stakeholders are removed: nothing that was recorded is lost.",
        request=MergeSerializer,
        responses={200: StakeholderSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Merge", value={"duplicate": 42}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        survivor = self.get_object()
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stakeholder_merge(
            survivor=survivor, duplicate=data.validated_data["duplicate"], by=request.user
        )
        return self._render(survivor.pk)


# --- Contacts -------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    email = StrictCharField(read_only=True, help_text="Blank when unknown.")
    stakeholder_name = StrictCharField(source="stakeholder.name", read_only=True, allow_null=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "stakeholder",
            "stakeholder_name",
            "name",
            "role",
            "email",
            "phone",
            "notes",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactInputSerializer(serializers.Serializer):
    stakeholder = serializers.PrimaryKeyRelatedField(
        queryset=Stakeholder.objects.all(),
        allow_null=True,
        required=False,
        help_text="The organisation they work at, if any.",
    )
    name = StrictCharField(max_length=200)
    role = StrictCharField(max_length=120, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    phone = StrictCharField(max_length=40, allow_blank=True, required=False)
    notes = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)


class ContactUpdateSerializer(ContactInputSerializer):
    name = StrictCharField(max_length=200, required=False)
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read: a newer one answers 409."
    )


@extend_schema_view(
    list=extend_schema(
        summary="List contacts", description="People we deal with, with the web list's filters."
    ),
    retrieve=extend_schema(
        summary="Read a contact", responses={200: ContactSerializer, **error_responses(404)}
    ),
    create=extend_schema(
        summary="Add a contact",
        description="Managers and admins.",
        request=ContactInputSerializer,
        responses={201: ContactSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Contact",
                value={"stakeholder": 7, "name": "Ada Jones", "role": "Head of partnerships"},
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Edit a contact",
        description="Managers and admins; `version` as read, else 409.",
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, **error_responses(400, 403, 404, 409)},
        examples=[
            OpenApiExample("Edit", value={"version": 2, "phone": "+44 20 0000"}, request_only=True)
        ],
    ),
)
class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People we deal with, usually at a stakeholder organisation."""

    serializer_class = ContactSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactFilter
    search_fields = ["name", "role", "stakeholder__name"]
    ordering_fields = ["name", "created_at", "updated_at", "id"]

    def get_queryset(self):
        return selectors.contacts_for(self.request.user).order_by("name", "pk")

    def create(self, request, *args, **kwargs):
        data = ContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = services.contact_create(by=request.user, **data.validated_data)
        contact = self.get_queryset().get(pk=contact.pk)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = ContactUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        expected = fields.pop("version")
        try:
            services.contact_update(
                contact=contact, by=request.user, expected_version=expected, **fields
            )
        except ConcurrencyConflict as error:
            changes = selectors.changes_since(error.current, expected)
            raise ConcurrencyConflict(error.current, error.changed_by, changes) from None
        contact = self.get_queryset().get(pk=contact.pk)
        return Response(ContactSerializer(contact).data)


# --- Categories -----------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "position"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List stakeholder categories",
        description="Customer, supplier, partner, investor …: the ids a stakeholder's "
        "`category` takes (and the `category` filters of the stakeholder, contact and "
        "relationship lists and the dashboard), in the order the forms offer them. Admins "
        "keep the list in the administration.",
    ),
    retrieve=extend_schema(
        summary="Read a stakeholder category",
        responses={200: CategorySerializer, **error_responses(404)},
    ),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Stakeholder categories (read only): shared reference data every signed-in user reads."""

    serializer_class = CategorySerializer
    queryset = Category.objects.order_by("position", "name", "pk")
    filter_backends = FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["position", "name", "id"]


# --- Our values -----------------------------------------------------------------------


class ValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Value
        fields = ["id", "name", "description", "weight", "active"]
        read_only_fields = fields


class ValueInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=80)
    description = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)
    weight = serializers.IntegerField(min_value=1, max_value=10, required=False)
    active = serializers.BooleanField(required=False)


class ValueUpdateSerializer(ValueInputSerializer):
    name = StrictCharField(max_length=80, required=False)


class ValueFilter(django_filters.FilterSet):
    active = StrictBooleanFilter()

    class Meta:
        model = Value
        fields = ["active"]


@extend_schema_view(
    list=extend_schema(
        summary="List our values",
        description="The organisation's own values; the weight says how much each counts in "
        "a stakeholder's value fit.",
    ),
    retrieve=extend_schema(
        summary="Read a value", responses={200: ValueSerializer, **error_responses(404)}
    ),
    create=extend_schema(
        summary="Add a value",
        description="Admins. Every stakeholder's value fit follows the new weights.",
        request=ValueInputSerializer,
        responses={201: ValueSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Value", value={"name": "Long-term thinking", "weight": 3}, request_only=True
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Edit a value",
        description="Admins. Every stakeholder's value fit follows.",
        request=ValueUpdateSerializer,
        responses={200: ValueSerializer, **error_responses(400, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Remove a value",
        description="Admins. Stakeholders lose the tag; every value fit follows.",
        responses={204: None, **error_responses(403, 404)},
    ),
)
class ValueViewSet(viewsets.ModelViewSet):
    """The values that drive how the organisation chooses and manages relationships."""

    serializer_class = ValueSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = ValueFilter
    search_fields = ["name"]
    ordering_fields = ["name", "weight", "id"]

    def get_queryset(self):
        return Value.objects.order_by("-weight", "name", "pk")

    def _save(self, value: Value, serializer_class, code: int) -> Response:
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        for name, given in data.validated_data.items():
            setattr(value, name, given)
        services.value_save(value=value, by=self.request.user)
        return Response(ValueSerializer(value).data, status=code)

    def create(self, request, *args, **kwargs):
        return self._save(Value(), ValueInputSerializer, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        return self._save(self.get_object(), ValueUpdateSerializer, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        services.value_delete(value=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Power/interest assessments -------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = [
            "id",
            "stakeholder",
            "assessed_on",
            "assessed_by",
            "power",
            "interest",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class AssessmentInputSerializer(serializers.Serializer):
    stakeholder = serializers.PrimaryKeyRelatedField(queryset=Stakeholder.objects.all())
    power = serializers.IntegerField(min_value=1, max_value=5)
    interest = serializers.IntegerField(min_value=1, max_value=5)
    assessed_on = serializers.DateField(
        required=False, allow_null=True, help_text="Defaults to today; never in the future."
    )
    note = StrictCharField(max_length=LONG_TEXT, allow_blank=True, required=False)


class AssessmentFilter(django_filters.FilterSet):
    assessed_after = django_filters.DateFilter(field_name="assessed_on", lookup_expr="gte")
    assessed_before = django_filters.DateFilter(field_name="assessed_on", lookup_expr="lte")

    class Meta:
        model = Assessment
        fields = ["stakeholder", "assessed_after", "assessed_before"]


@extend_schema_view(
    list=extend_schema(
        summary="List power/interest assessments",
        description="The dated history, newest first; filter by `stakeholder`. The latest one "
        "is the stakeholder's current `power` and `interest`.",
    ),
    retrieve=extend_schema(
        summary="Read an assessment", responses={200: AssessmentSerializer, **error_responses(404)}
    ),
    create=extend_schema(
        summary="Record an assessment",
        description="Managers and admins. Scores run from 1 to 5; the date cannot be in the "
        "future.",
        request=AssessmentInputSerializer,
        responses={201: AssessmentSerializer, **error_responses(400, 403)},
        examples=[
            OpenApiExample(
                "Assessment",
                value={"stakeholder": 7, "power": 4, "interest": 2, "note": "New CEO"},
                request_only=True,
            ),
            rule_error_example(
                "future_date", "An assessment cannot be in the future.", "assessed_on"
            ),
        ],
    ),
)
class AssessmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Power/interest assessments of stakeholders: history is kept, never rewritten."""

    serializer_class = AssessmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AssessmentFilter
    search_fields = ["stakeholder__name", "note"]
    ordering_fields = ["assessed_on", "created_at", "id"]

    def get_queryset(self):
        return Assessment.objects.order_by("-assessed_on", "-pk")

    def create(self, request, *args, **kwargs):
        data = AssessmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.assessment_record(by=request.user, **data.validated_data)
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("stakeholders", StakeholderViewSet, "stakeholder"),
    ("contacts", ContactViewSet, "contact"),
    ("values", ValueViewSet, "value"),
    ("assessments", AssessmentViewSet, "assessment"),
    ("categories", CategoryViewSet, "category"),
]

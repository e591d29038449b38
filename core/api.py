"""Shared REST API plumbing: errors, pagination, scopes, filtering, enums and the documented
error bodies. Resources live in each app's api.py; whatever two apps' APIs share lives here,
so no app's api.py imports another's.

Careful with imports: rest_framework.views loads this module while it is still importing
(the default permission and pagination classes below), so nothing here may import
rest_framework.views, generics or viewsets at module level.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import ModelMultipleChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import filters, pagination, permissions, serializers, status
from rest_framework.response import Response

from core.errors import ConcurrencyConflict, PermissionRefused, RuleViolation

# Free text has no length limit in the database; the API still refuses absurd payloads.
LONG_TEXT = 10_000


# --- Errors -----------------------------------------------------------------------------


def api_exception_handler(exc, context):
    """Business-rule refusals become 400/403/409 with a stable code and a human message."""
    if isinstance(exc, PermissionRefused):
        return Response({"code": exc.code, "detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RuleViolation):
        body = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        problems = getattr(exc, "problems", None)
        if problems:
            body["problems"] = [
                {"code": p.code, "detail": p.message, "field": p.field} for p in problems
            ]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConcurrencyConflict):
        return Response(
            {"code": exc.code, "detail": exc.message, "changes": exc.changes},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    # Imported here: this module is loaded while rest_framework.views is still importing.
    from rest_framework.views import exception_handler

    return exception_handler(exc, context)


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    field = serializers.CharField(required=False, allow_null=True)


class ApiErrorSerializer(serializers.Serializer):
    """A refusal. Every property is optional because a 400 comes in two shapes:
    a business rule answers ``code`` (stable), ``detail`` (for people), the ``field`` at
    fault and, when several conditions are missing, every one in ``problems``; malformed
    input answers DRF's field errors instead, ``{"<field>": ["message", …]}``. Other
    statuses answer at least ``detail``."""

    code = serializers.CharField(required=False, help_text="Stable, machine-readable.")
    detail = serializers.CharField(required=False, help_text="What to do, for a person.")
    field = serializers.CharField(
        required=False, allow_null=True, help_text="The input at fault, if one is."
    )
    problems = ProblemSerializer(
        many=True, required=False, help_text="Every missing condition, when there are several."
    )

    class Meta:
        ref_name = "ApiError"


class ConflictErrorSerializer(serializers.Serializer):
    """Someone saved the record after the caller read it: nothing was written."""

    code = serializers.CharField(required=False, help_text="Always `conflict`.")
    detail = serializers.CharField(required=False)
    changes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="What they changed."
    )

    class Meta:
        ref_name = "ConflictError"


_ERROR_DESCRIPTIONS = {
    400: "Invalid input (field errors) or a business rule refused it; nothing was saved.",
    403: "Read-only token, or your role may not make this change.",
    404: "No such record, or not one you may see.",
    409: "Someone changed the record meanwhile (send the current `version`).",
}


def error_responses(*codes: int) -> dict:
    """Documented error answers for ``@extend_schema(responses={…, **error_responses(…)})``."""
    return {
        code: OpenApiResponse(
            ConflictErrorSerializer if code == 409 else ApiErrorSerializer,
            description=_ERROR_DESCRIPTIONS[code],
        )
        for code in codes
    }


def rule_error_example(code: str, detail: str, field: str | None = None) -> OpenApiExample:
    value = {"code": code, "detail": detail}
    if field:
        value["field"] = field
    return OpenApiExample(code, value=value, response_only=True, status_codes=["400"])


CONFLICT_EXAMPLE = OpenApiExample(
    "conflict",
    value={
        "code": "conflict",
        "detail": "Ann Lee changed this record while you were editing. Your changes were not "
        "saved: review theirs and apply yours again.",
        "changes": ["Purpose: “Grow” → “Grow together”"],
    },
    response_only=True,
    status_codes=["409"],
)


# --- Pagination ---------------------------------------------------------------------------


class StablePagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(pagination.CursorPagination):
    """For lists too long to count on every page: ``next``/``previous`` links, no ``count``.
    Subclasses set ``ordering``, newest first and ending with the id so it is total; a view
    using it must not offer ``?ordering=`` (the cursor encodes a position in this order)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")


# --- Permissions ----------------------------------------------------------------------------


class TokenScopePermission(permissions.BasePermission):
    """A read-only token may read; writes need a session or a read-write token."""

    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if request.method in permissions.SAFE_METHODS or token is None:
            return True
        return getattr(token, "scope", "write") == "write"


class RuleBasedWritePermission(permissions.BasePermission):
    """Reads for everyone signed in; writes when ``allowed(user)``. A refusal answers 403
    with the same {code, detail} body as a refusal from a service."""

    message = "You may not change this record."

    def allowed(self, user) -> bool:
        raise NotImplementedError

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS or self.allowed(request.user):
            return True
        raise PermissionRefused(self.message)


# --- Filtering and ordering ---------------------------------------------------------------


class StableOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` that always ends with the primary key, so pages never overlap or skip
    rows. Without the parameter the view's default ``ordering`` applies, if it has one;
    otherwise its queryset keeps its own (stable) order."""

    def filter_queryset(self, request, queryset, view):
        ordering = list(self.get_ordering(request, queryset, view) or [])
        if not ordering:
            return queryset
        if not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("pk")
        return queryset.order_by(*ordering)


FILTER_BACKENDS = [DjangoFilterBackend, filters.SearchFilter, StableOrderingFilter]


class _StrictBooleanField(forms.NullBooleanField):
    widget = forms.TextInput
    WORDS = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.WORDS[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Use true or false.", code="invalid") from None

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    """true/false (or 1/0); anything else answers 400 instead of being ignored."""

    field_class = _StrictBooleanField

    def __init__(self, *args, **kwargs):
        # django-filter's BooleanWidget turns unknown words into "no filter"; read the raw text.
        kwargs["widget"] = forms.TextInput
        super().__init__(*args, **kwargs)


_BIGINT = (-(2**63), 2**63 - 1)


class _IdsField(ModelMultipleChoiceField):
    """Refuses ids outside the database's integer range before querying: ``pk__in`` with
    such a value is an OverflowError on SQLite (a single ``pk=`` lookup is already safe)."""

    def _check_values(self, value):
        for given in value or []:
            try:
                number = int(str(given).strip())
            except ValueError:
                continue  # not a number at all: Django's own check names it
            if not _BIGINT[0] <= number <= _BIGINT[1]:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": given},
                )
        return super()._check_values(value)


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    """``?name=1&name=2``: any of these ids. Out-of-range ids answer 400, never 500."""

    field_class = _IdsField


# --- Enums --------------------------------------------------------------------------------


class EnumField(serializers.ChoiceField):
    """A choice field documented as one named enum component (``component``), however many
    serializers and field names use it: clients get one type per choice set, and the schema
    has no enum-naming collisions between apps."""

    def __init__(self, choices, component: str, **kwargs):
        self.component = component
        super().__init__(choices=choices, **kwargs)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        enum = {
            "type": "string",
            "enum": list(field.choices),
            "description": "\n".join(f"* `{k}` - {v}" for k, v in field.choices.items()),
        }
        component = ResolvedComponent(
            name=field.component, type=ResolvedComponent.SCHEMA, object=field.component, schema=enum
        )
        auto_schema.registry.register_on_missing(component)
        if field.allow_blank and "" not in field.choices:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return component.ref

"""Shared REST API plumbing: errors, pagination, scopes, filtering, enums and the documented
error bodies. Resources live in each app's api.py; whatever two apps' APIs share lives here,
so no app's api.py imports another's.

Careful with imports: rest_framework.views loads this module while it is still importing
(the default permission and pagination classes below), so nothing here may import
rest_framework.views, generics or viewsets at module level.
"""

from __future__ import annotations

from collections import deque

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import ModelMultipleChoiceField
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import (
    exceptions,
    filters,
    pagination,
    parsers,
    permissions,
    serializers,
    status,
)
from rest_framework.relations import MANY_RELATION_KWARGS
from rest_framework.response import Response

from core.errors import (
    ConcurrencyConflict,
    InputRefused,
    PermissionRefused,
    RuleViolation,
    body_too_large,
    nul_in,
)

# Free text has no length limit in the database; the API still refuses absurd payloads.
LONG_TEXT = 10_000


# --- Errors -----------------------------------------------------------------------------


def api_exception_handler(exc, context):
    """Business-rule refusals become 400/403/409 with a stable code and a human message;
    unusable input (a NUL character, a body too large or too deep) 400/413 likewise."""
    if isinstance(exc, InputRefused):
        return Response(exc.as_body(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        # InputLimitsMiddleware refuses a body whose Content-Length is over the limit; this
        # is the same answer should DRF read one it let through.
        refusal = body_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response(refusal.as_body(), status=refusal.status)
    if isinstance(exc, PermissionRefused | exceptions.PermissionDenied):
        _log_refusal(exc, context)
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

    response = exception_handler(exc, context)
    if response is None:
        response = _unhandled_error_response(exc, context)
    return response


def _log_refusal(exc, context) -> None:
    """Every 403 goes to the security log, once: the request is marked so the pages'
    DeniedRequestLogMiddleware does not count it again."""
    from security.models import SecurityEvent
    from security.services import security_event_record

    request = context["request"]
    reason = exc.message if isinstance(exc, PermissionRefused) else str(exc.detail)
    security_event_record(
        kind=SecurityEvent.Kind.PERMISSION_DENIED,
        request=request,
        detail=f"{request.method} refused: {reason}",
    )
    request._request.security_denial_logged = True


def _unhandled_error_response(exc, context) -> Response | None:
    """An error no rule explains: 503 JSON while the database is unreachable (as the pages
    answer), else 500 JSON with an error id logged with the traceback. In DEBUG, None lets
    DRF re-raise, so the developer gets Django's debug page."""
    from django.conf import settings
    from django.core import signals

    from core.middleware import DATABASE_OUTAGE_ERRORS
    from core.views import OUTAGE_DETAIL, RETRY_AFTER_SECONDS, log_outage, log_server_error

    request = getattr(context.get("request"), "_request", None)  # the Django request
    if request is None:
        return None
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        error_id = log_outage(request, exc)
        response = Response(
            {"detail": OUTAGE_DETAIL, "error_id": error_id},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        )
    elif settings.DEBUG:
        return None
    else:
        # As Django does for the pages: error reporters and the test client listen to this.
        signals.got_request_exception.send(sender=None, request=request)
        error_id = log_server_error(request, exc_info=(type(exc), exc, exc.__traceback__))
        response = Response(
            {"detail": "Internal error", "error_id": error_id},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response._has_been_logged = True  # logged above with its id: Django need not again
    return response


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


def _page_size(paginator, request) -> int:
    """``?page_size=``: a whole number from 1 (above the maximum gives the maximum). Anything
    else is a 400 saying so, not silently the default size."""
    raw = request.query_params.get(paginator.page_size_query_param, "")
    if raw == "":
        return paginator.page_size
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise serializers.ValidationError(
            {
                paginator.page_size_query_param: [
                    f"Give a whole number from 1 (at most {paginator.max_page_size} rows "
                    "come back)."
                ]
            }
        )
    return min(size, paginator.max_page_size)


def _positive_parameters(parameters: list[dict], names: tuple[str, ...]) -> list[dict]:
    for parameter in parameters:
        if parameter["name"] in names:
            parameter["schema"] = {**parameter["schema"], "minimum": 1}
    return parameters


class StablePagination(pagination.PageNumberPagination):
    """Pages of 50 (``page_size`` up to 200). A malformed ``page`` or ``page_size`` answers
    400; a page past the end, 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        return _page_size(self, request)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, "")
        if raw == "":
            return 1
        if raw in self.last_page_strings:
            return raw
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise serializers.ValidationError(
                {self.page_query_param: ["Give a page number from 1 (or “last”)."]}
            )
        return number

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        return _positive_parameters(parameters, (self.page_query_param, "page_size"))


class NewestFirstCursorPagination(pagination.CursorPagination):
    """For lists too long to count on every page: ``next``/``previous`` links, no ``count``.
    Subclasses set ``ordering``, newest first and ending with the id so it is total; a view
    using it must not offer ``?ordering=`` (the cursor encodes a position in this order).
    A cursor the API did not give out, or a malformed ``page_size``, answers 400."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def get_page_size(self, request) -> int:
        return _page_size(self, request)

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None  # an empty cursor is no cursor: the first page
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise serializers.ValidationError(
                {
                    self.cursor_query_param: [
                        "Not a cursor this API gave out: follow the next and previous links."
                    ]
                }
            ) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        return _positive_parameters(parameters, ("page_size",))


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


class NamedSearchFilter(filters.SearchFilter):
    """``?search=``, whose refusals (a NUL character) name the parameter like every other
    400 does, instead of DRF's bare list."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.search_param: error.detail}) from None


class VisibleIdsFilterBackend(DjangoFilterBackend):
    """django-filter, with every filter that takes a related id (``?relationship=``,
    ``?owner=``, ``?teams=`` …) limited to the rows the caller may see
    (accounts.permissions.visible_rows). An id of another team's confidential relationship
    is then refused exactly like an id that does not exist — same status, same body — so no
    list filter tells whether a hidden record exists. FilterSets declare plain querysets;
    this is the one place they are scoped, for every API list, a new filter included (the
    permission matrix checks each one: tests/security/test_matrix.py)."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            scope_id_filters(filterset, request.user)
        return filterset


def scope_id_filters(filterset: django_filters.FilterSet, user) -> None:
    # Imported here: accounts.permissions reads models, and this module loads with DRF.
    from accounts.permissions import visible_rows

    for id_filter in filterset.filters.values():
        if not isinstance(id_filter, QuerySetRequestMixin):
            continue
        choices = id_filter.get_queryset(filterset.request)
        if choices is None:
            continue
        scoped = visible_rows(choices, user)
        if scoped is not choices:  # shared records come back as they were: nothing to redo
            id_filter.queryset = scoped
            # The filters are copies of the FilterSet's; a copy may carry a form field built
            # earlier (the OpenAPI schema builds them) with the unscoped choices.
            id_filter.__dict__.pop("_field", None)


FILTER_BACKENDS = [VisibleIdsFilterBackend, NamedSearchFilter, StableOrderingFilter]


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
    such a value is an OverflowError on SQLite (a single ``pk=`` lookup is already safe).
    An empty value (``?teams=``) means "not given", as for every other filter."""

    def clean(self, value):
        if isinstance(value, list | tuple):
            value = [given for given in value if str(given).strip()]
        return super().clean(value)

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


# --- JSON bodies ----------------------------------------------------------------------------

# Rapport's bodies nest three levels at most (a follow-up inside an interaction); a client
# sending more is mistaken, and Python's parser fails (RecursionError) near a thousand.
MAX_JSON_DEPTH = 32


class StrictJSONParser(parsers.JSONParser):
    """JSON bodies the API can use, refused in the API's error shape otherwise: malformed
    (400 ``malformed_json``), nested more than MAX_JSON_DEPTH deep (400 ``too_deep``), or with
    a NUL character in any key or string at any depth (400 ``nul_character`` naming the
    field, e.g. ``follow_up.description``): PostgreSQL text cannot hold one. A body over
    DATA_UPLOAD_MAX_MEMORY_SIZE never gets here: it answers 413 (InputLimitsMiddleware, or
    the exception handler above when Django refuses to read it)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        except exceptions.ParseError as error:
            raise InputRefused("malformed_json", str(error.detail)) from None
        check_json(data)
        return data


def _too_deep() -> InputRefused:
    return InputRefused(
        "too_deep", f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."
    )


def check_json(data) -> None:
    """Refuse a document nested too deep or holding a NUL character (keys included); walked
    with a queue, not recursion, so the walk itself has no depth limit."""
    queue = deque([(data, "", 1)])
    while queue:
        value, path, depth = queue.popleft()
        if isinstance(value, str):
            if "\x00" in value:
                raise nul_in(path or None, "field" if path else "body")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if "\x00" in key:
                    raise nul_in(child, "field name")
                queue.append((item, child, depth + 1))
        else:
            queue.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


# --- Text --------------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """DRF's CharField turns a number into text (``{"note": 5}`` is stored as "5"); text is
    due, and anything else is a 400 saying so."""

    default_error_messages = {"not_text": "Must be text (a JSON string), not {input_type}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", input_type=type(data).__name__)
        return super().to_internal_value(data)


# --- Lists of ids ---------------------------------------------------------------------------


class _IdList(serializers.ManyRelatedField):
    """DRF's many-relation field iterates whatever it is given, so an object ``{"1": …}``
    became the list of its keys; a list is due, and anything else is a 400 saying so."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class IdsRelatedField(serializers.PrimaryKeyRelatedField):
    """``PrimaryKeyRelatedField`` whose ``many=True`` form takes a JSON list of ids only."""

    @classmethod
    def many_init(cls, *args, **kwargs):
        # DRF's own many_init, with the strict list field.
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return _IdList(**list_kwargs)


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


# --- The schema: answers every operation can give -------------------------------------------

_COMMON_ANSWERS = {
    400: "Invalid input: a malformed or unknown filter, page or body value; nothing was saved.",
    401: "No valid credentials: send `Authorization: Bearer <token>`.",
    404: "No such record, or not one you may see.",
    413: "The body is larger than the limit (DATA_UPLOAD_MAX_MEMORY_SIZE, stated in the "
    "message); nothing was read.",
}


def document_common_answers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): document the answers that
    the shared machinery gives whatever the view declares — 401 without credentials, 400 for
    a bad filter, page or body, 404 for an id or a page that is not there, 413 for a body
    too large — and mark optional query parameters as accepting an empty value, which means
    "not given" here as in every HTML form (django-filter ignores it)."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            query = [p for p in parameters if p.get("in") == "query"]
            needed = []
            if operation.get("security"):
                needed.append(401)
            if query or "requestBody" in operation:
                needed.append(400)
            paginated = any(p["name"] in ("page", "cursor") for p in query)
            if paginated or any(p.get("in") == "path" for p in parameters):
                needed.append(404)
            if "requestBody" in operation:
                needed.append(413)
            for code in needed:
                responses.setdefault(str(code), {"description": _COMMON_ANSWERS[code], **error})
            for parameter in query:
                if not parameter.get("required"):
                    parameter.setdefault("allowEmptyValue", True)
    return result

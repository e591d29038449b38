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
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.http import Http404
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

from core import limits
from core.errors import (
    ConcurrencyConflict,
    InputRefused,
    PermissionRefused,
    RuleViolation,
    body_too_large,
    error_body,
    nul_in,
)

# Free text's limit is shared with the web forms and the services (core.limits); serializers
# import it from here too.
LONG_TEXT = limits.LONG_TEXT


# --- Errors -----------------------------------------------------------------------------


def api_exception_handler(exc, context):
    """Every refusal answers the one documented error shape (``ApiError``,
    core.errors.error_body): ``code``, ``detail``, ``field`` and ``problems``, whatever
    raised it — a service's rule (400, 403, 409), unusable input (400, 413), field
    validation (400: every field's messages in ``problems``, ``field`` naming the first),
    DRF's own 401/403/404/405/406/415/429 (their headers kept: WWW-Authenticate,
    Retry-After, Allow)."""
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
        return Response(rule_violation_body(exc), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RuleViolation):
        return Response(rule_violation_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConcurrencyConflict):
        body = error_body(exc.code, exc.message)
        body["changes"] = exc.changes
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return Response(validation_body(_django_problems(exc)), status=status.HTTP_400_BAD_REQUEST)
    # Imported here: this module is loaded while rest_framework.views is still importing.
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is None:
        return _unhandled_error_response(exc, context)
    response.data = _drf_error_body(exc, context)
    return response


def rule_violation_body(error: RuleViolation) -> dict:
    """A service's refusal: its code and message; when it stands for several (a lifecycle
    move missing more than one condition), each of them in ``problems``."""
    problems = getattr(error, "problems", None) or []
    return error_body(
        error.code,
        error.message,
        error.field or (problems[0].field if problems else None),
        [{"code": p.code, "detail": p.message, "field": p.field} for p in problems] or None,
    )


def validation_body(problems: list[dict]) -> dict:
    """Field errors: every problem in ``problems``; the top level is the first one's code
    and field, and a ``detail`` naming each field, for people."""
    if not problems:
        return error_body("invalid", "Invalid input.")
    first = problems[0]
    detail = " ".join(
        f"{problem['field']}: {problem['detail']}" if problem["field"] else problem["detail"]
        for problem in problems
    )
    return error_body(first["code"], detail, first["field"], problems)


def _problem(message, field: str | None) -> dict:
    return {
        "code": getattr(message, "code", None) or "invalid",
        "detail": str(message),
        "field": field,
    }


def validation_problems(detail, field: str | None = None) -> list[dict]:
    """DRF's nested error detail as a flat list of {code, detail, field}, the field as a
    path: ``follow_up.owner``, ``participant_users[1]``; ``non_field_errors`` is the field
    that holds them (null at the top)."""
    from rest_framework.settings import api_settings

    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                child = field
            elif isinstance(key, int):
                child = f"{field or ''}[{key}]"
            else:
                child = f"{field}.{key}" if field else str(key)
            found += validation_problems(value, child)
        return found
    if isinstance(detail, list):
        found = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):  # a list of objects: one entry per row
                found += validation_problems(item, f"{field or ''}[{index}]")
            else:
                found.append(_problem(item, field))
        return found
    return [_problem(detail, field)]


def _django_problems(error: DjangoValidationError) -> list[dict]:
    if hasattr(error, "error_dict"):
        pairs = [
            (None if name == NON_FIELD_ERRORS else name, item)
            for name, items in error.error_dict.items()
            for item in items
        ]
    else:
        pairs = [(None, item) for item in error.error_list]
    return [
        {"code": item.code or "invalid", "detail": message, "field": name}
        for name, item in pairs
        for message in item.messages
    ]


def _drf_error_body(exc, context) -> dict:
    """DRF's refusals (validation, authentication, permission, not found, method, media
    type, throttling) in the one error shape, with a hint where DRF's message has none."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    detail = exc.detail
    if isinstance(detail, dict | list):
        return validation_body(validation_problems(detail))
    code = getattr(detail, "code", None) or exc.default_code
    message = str(detail)
    view = context.get("view")
    if isinstance(exc, exceptions.UnsupportedMediaType) and view is not None:
        accepted = ", ".join(parser.media_type for parser in view.parser_classes)
        message += f" Send {accepted} (Content-Type header)."
    elif isinstance(exc, exceptions.MethodNotAllowed) and view is not None:
        allowed = ", ".join(m for m in view.allowed_methods if m not in ("HEAD", "OPTIONS"))
        message += f" Allowed here: {allowed}."
    return error_body(code, message, getattr(exc, "field", None))


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
            {**error_body("unavailable", OUTAGE_DETAIL), "error_id": error_id},
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
            {**error_body("server_error", "Internal error"), "error_id": error_id},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response._has_been_logged = True  # logged above with its id: Django need not again
    return response


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: `required`, `max_length`…")
    detail = serializers.CharField(help_text="The message, for a person.")
    field = serializers.CharField(
        allow_null=True,
        help_text="The input at fault as a path (`summary`, `follow_up.owner`, "
        "`participant_users[1]`, a query parameter such as `page`), or null.",
    )


class ApiErrorSerializer(serializers.Serializer):
    """Every refusal, whatever its status (400, 401, 403, 404, 405, 406, 409, 413, 415, 429,
    and 500/503 with an `error_id`), has this shape. `problems` lists each problem of the
    request, never empty: field validation gives one per message, a business rule one per
    missing condition, any other refusal itself. The top level repeats the first problem's
    `code` and `field`, with a `detail` that says everything, for people."""

    code = serializers.CharField(
        help_text="Stable, machine-readable: the first problem's code (`required`, "
        "`does_not_exist`, `type_required`, `not_authenticated`, `throttled` …)."
    )
    detail = serializers.CharField(help_text="What went wrong and what to do, for a person.")
    field = serializers.CharField(
        allow_null=True, help_text="The input at fault (the first problem's), or null."
    )
    problems = ProblemSerializer(many=True, help_text="Every problem; at least one.")

    class Meta:
        ref_name = "ApiError"


class ConflictErrorSerializer(ApiErrorSerializer):
    """An ApiError (code `conflict`): someone saved the record after the caller read it, and
    nothing was written; `changes` says what they changed."""

    changes = serializers.ListField(child=serializers.CharField(), help_text="What they changed.")

    class Meta:
        ref_name = "ConflictError"


_ERROR_DESCRIPTIONS = {
    400: "Invalid input (each field's problem in `problems`) or a business rule refused it; "
    "nothing was saved.",
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
    return OpenApiExample(
        code, value=error_body(code, detail, field), response_only=True, status_codes=["400"]
    )


CONFLICT_EXAMPLE = OpenApiExample(
    "conflict",
    value={
        **error_body(
            "conflict",
            "Ann Lee changed this record while you were editing. Your changes were not "
            "saved: review theirs and apply yours again.",
        ),
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


# Paging parameters of the other styles (and of common ones Rapport does not offer). A list
# that silently ignored one would answer page 1 to ``?page=2``, ``?page=3`` … and a client
# looping until a page comes back empty would never stop: each list refuses the ones it
# does not take, naming the way it is paged.
PAGING_PARAMETERS = ("page", "cursor", "offset", "limit")


def _refuse_paging(
    request, accepted: tuple[str, ...], code: str, how: str, names=PAGING_PARAMETERS
) -> None:
    for name in names:
        if name not in accepted and request.query_params.get(name, "") != "":
            raise serializers.ValidationError({name: [f"Unknown parameter “{name}”: {how}"]}, code)


class PageOutOfRange(exceptions.NotFound):
    """A page number past the last page (404, as DRF answers it), naming the last one."""

    default_code = "page_out_of_range"

    def __init__(self, number, last: int, page_query_param: str):
        self.field = page_query_param
        super().__init__(
            f"There is no page {number}: this list has {last} page{'s' if last != 1 else ''} at "
            f"this page_size. Follow `next` from the first page until it is null.",
            self.default_code,
        )


class StablePagination(pagination.PageNumberPagination):
    """Pages of 50 (``page_size`` up to 200), numbered from 1, with ``count``, ``next`` and
    ``previous``. A malformed ``page`` or ``page_size`` answers 400; a page past the last,
    404 ``page_out_of_range``; a cursor, offset or limit, 400 ``paged_by_number``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    page_query_description = (
        "A page number from 1 (or `last`). A page past the last answers 404 "
        "(`page_out_of_range`); simpler still, follow `next` until it is null. This list is "
        "paged by number: `cursor`, `offset` and `limit` answer 400 (`paged_by_number`)."
    )
    page_size_query_description = "Rows per page, from 1 (default 50, at most 200)."

    def get_page_size(self, request) -> int:
        return _page_size(self, request)

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's, with a page past the end named as such (DRF says only "Invalid page.").
        _refuse_paging(
            request,
            (self.page_query_param,),
            "paged_by_number",
            f"this list is paged by number: send `{self.page_query_param}` (from 1) and "
            "`page_size`, or follow `next`.",
        )
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise PageOutOfRange(number, paginator.num_pages, self.page_query_param) from None
        return list(self.page)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, "")
        if raw == "":
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
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
    A cursor the API did not give out, or a malformed ``page_size``, answers 400; so does a
    page number (``page``, ``offset``, ``limit``: 400 ``paged_by_cursor``), which the list
    would otherwise ignore, answering the first page again and again."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")
    cursor_query_description = (
        "Where a page starts: take it from the `next` or `previous` link (which carry the "
        "filters and `page_size` too), never build it. `next` is null on the last page. This "
        "list is paged by cursor: `page`, `offset` and `limit` answer 400 (`paged_by_cursor`)."
    )
    page_size_query_description = StablePagination.page_size_query_description

    def get_page_size(self, request) -> int:
        return _page_size(self, request)

    def paginate_queryset(self, queryset, request, view=None):
        _refuse_paging(
            request,
            (self.cursor_query_param,),
            "paged_by_cursor",
            "this list is paged by cursor, not by number: follow the `next` link of each "
            "page (it carries `cursor`) until it is null.",
        )
        return super().paginate_queryset(queryset, request, view)

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
                },
                "invalid_cursor",
            ) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        return _positive_parameters(parameters, ("page_size",))


def refuse_paging(request) -> None:
    """For a list that is not paged (it answers every row at once): page parameters answer
    400 ``not_paged`` rather than being ignored."""
    _refuse_paging(
        request,
        (),
        "not_paged",
        "this list is not paged: one answer holds every row.",
        (*PAGING_PARAMETERS, "page_size"),
    )


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
    """``?search=``, matched as the lists' search box (stakeholders.search), not by ILIKE:
    names and e-mail addresses without accents, case or punctuation, the same on PostgreSQL
    and SQLite. Where the list's FilterSet has that box (``q``: stakeholders, contacts,
    relationships), ``?search=`` is the very same search; elsewhere the view's
    ``search_fields`` are matched by ``stakeholders.search.fields_q``. Its refusals (a NUL
    character, no letter, over 200 characters) name the parameter like every other 400
    does, instead of DRF's bare list."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.search_param: error.detail}) from None

    def filter_queryset(self, request, queryset, view):
        # Imported here: this module loads while rest_framework is still importing.
        from django.db.models import Exists, OuterRef

        from stakeholders.search import Search, SearchFilter, fields_q

        fields = self.get_search_fields(view, request)
        terms = self.get_search_terms(request)
        if not fields or not terms:
            return queryset
        if any(str(name)[0] in self.lookup_prefixes for name in fields):
            return super().filter_queryset(request, queryset, view)  # "^name" and the like
        try:
            search = Search.parse(" ".join(terms))
        except DjangoValidationError as error:
            raise serializers.ValidationError({self.search_param: error.messages}) from None
        if search is None:
            return queryset
        filterset = getattr(view, "filterset_class", None)
        box = filterset.base_filters.get("q") if filterset else None
        if isinstance(box, SearchFilter):
            return box.match(queryset, search)
        matches = queryset.filter(fields_q(queryset.model, fields, search))
        if self.must_call_distinct(queryset, fields):  # as DRF: a row once, however many match
            return queryset.filter(Exists(matches.filter(pk=OuterRef("pk"))))
        return matches


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
    400: "Invalid input: a malformed or unknown filter, page or body value, or a paging "
    "parameter this list does not take (`paged_by_cursor`, `paged_by_number`, `not_paged`); "
    "each problem in `problems`, nothing was saved.",
    401: "No valid credentials: send `Authorization: Bearer <token>`.",
    403: "A read-only token, or your role may not make this change; nothing was saved.",
    404: "No such record, or not one you may see; or a page past the last (`page_out_of_range`).",
    413: "The body is larger than the limit (DATA_UPLOAD_MAX_MEMORY_SIZE, stated in the "
    "message); nothing was read.",
    415: "The body is not in a format this operation reads (`unsupported_media_type`, naming "
    "the ones it does): send JSON with `Content-Type: application/json`.",
    429: "Too many requests (`throttled`): wait the `Retry-After` seconds and try again.",
}

_WRITES = ("post", "put", "patch", "delete")
_PAGING_REFUSALS = (
    "A paging parameter this list does not take answers 400 as well (`paged_by_cursor`, "
    "`paged_by_number`)."
)


def document_common_answers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): document the answers that
    the shared machinery gives whatever the view declares — 401 without credentials, 403
    for a write with a read-only token, 400 for a bad filter, page or body, 404 for an id or
    a page that is not there, 413 for a body too large, 415 for a body that is not JSON,
    429 when throttled — each an ApiError, and mark optional query parameters as accepting
    an empty value, which means "not given" here as in every HTML form (django-filter
    ignores it)."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            query = [p for p in parameters if p.get("in") == "query"]
            needed = [429]
            if operation.get("security"):
                needed.append(401)
                if method in _WRITES:
                    needed.append(403)
            if query or "requestBody" in operation:
                needed.append(400)
            paged = any(p["name"] == "page" for p in query)
            if paged or any(p.get("in") == "path" for p in parameters):
                needed.append(404)
            if "requestBody" in operation:
                needed += [413, 415]
            for code in needed:
                responses.setdefault(str(code), {"description": _COMMON_ANSWERS[code], **error})
            if paged or any(p["name"] == "cursor" for p in query):
                # A view's own 400 description is about its filters: add the paging refusals.
                answer = responses["400"]
                if "paged_by_" not in answer["description"]:
                    answer["description"] += f" {_PAGING_REFUSALS}"
            for parameter in query:
                if not parameter.get("required"):
                    parameter.setdefault("allowEmptyValue", True)
    return result

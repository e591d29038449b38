"""Middleware of Rapport's own: headers Django has no setting for, input no view can use
refused up front (a NUL character, a body too large), and the 503 answer when the database
is briefly out of reach (a restart, a failover) instead of a 500 and a traceback."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError

from core.errors import InputRefused, body_too_large, nul_in

# The browser features Rapport never uses: a script that slipped in cannot reach them.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"

# Django wraps the driver's errors (psycopg's included) in these two when the database is
# unreachable or the connection dropped; every other DatabaseError is a bug and stays a 500.
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)


class SecurityHeadersMiddleware:
    """Adds Permissions-Policy to every response (SecurityMiddleware covers the others:
    nosniff, Referrer-Policy, Cross-Origin-Opener-Policy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What Django raises reading a form it will not take (it would log each as an ERROR).
_UNREADABLE_FORM = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError)


class InputLimitsMiddleware:
    """Refuses, before any view reads it, input no view can use:

    - a NUL character (\\x00) in a query parameter or a form field (names and
      values; an uploaded file's contents are the importer's business): 400 naming it.
      PostgreSQL text cannot hold one, so it failed in the database as a 500;
    - a body over DATA_UPLOAD_MAX_MEMORY_SIZE (files not counted): 413 with the limit;
    - a form with more fields or files than Django accepts, or a malformed multipart body:
      400. Django would log these as errors with a traceback; they are the client's mistake.

    Pages get the 400 page with the reason; /api/ gets the API's error body (ApiError).
    JSON bodies are checked by the API's parser (core.api.StrictJSONParser) and CSV files by
    the importer (stakeholders.imports), which can say where the character is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_input(request)
        except InputRefused as refusal:
            return refused_response(request, refusal)
        return self.get_response(request)


def check_input(request: HttpRequest) -> None:
    # Not the path: a route's converter decides what its arguments may hold, and the one
    # route taking free text (the survey link) explains a tampered link itself.
    try:
        query = request.GET
        _check_fields(query.lists(), "query parameter")
    except TooManyFieldsSent:
        request.GET = QueryDict()  # the 400 page must not trip over the same parameters
        raise InputRefused(
            "too_many_fields",
            f"The address has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} parameters.",
        ) from None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    content_type = request.content_type or ""
    if limit is not None and content_type != "multipart/form-data":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise body_too_large(limit)  # refused unread
    if request.method == "POST" and content_type in _FORM_TYPES:
        try:
            form, files = request.POST, request.FILES
        except _UNREADABLE_FORM as error:
            # As Django's own handler does: whatever reads the form next finds it empty.
            request._mark_post_parse_error()
            raise _unreadable_form(error, limit) from None
        _check_fields(form.lists(), "form field")
        _check_fields(
            ((name, [upload.name or "" for upload in uploads]) for name, uploads in files.lists()),
            "file name of the form field",
        )


def _unreadable_form(error: Exception, limit: int | None) -> InputRefused:
    if isinstance(error, RequestDataTooBig) and limit is not None:
        return body_too_large(limit)
    if isinstance(error, TooManyFieldsSent):
        return InputRefused(
            "too_many_fields",
            f"The form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields.",
        )
    if isinstance(error, TooManyFilesSent):
        return InputRefused(
            "too_many_files",
            f"The form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files.",
        )
    return InputRefused("malformed_form", "The form could not be read (a malformed body).")


def _check_fields(fields, where: str) -> None:
    for name, values in fields:
        if "\x00" in name or any("\x00" in value for value in values):
            raise nul_in(name, where)


def refused_response(request: HttpRequest, refusal: InputRefused) -> HttpResponse:
    """The API's error body under /api/, the 400 page (with the reason) elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(refusal.as_body(), status=refusal.status)
    from core.views import refused_input  # here: core.views imports this module

    return refused_input(request, refusal.message, refusal.status)


class DatabaseOutageMiddleware:
    """A view that fails because the database is unreachable answers 503 with Retry-After:
    the outage page for people, a JSON body under /api/. Failures before the view (the
    session read by LoginRequiredMiddleware, say) reach handler500, which answers the same."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_OUTAGE_ERRORS):
            from core.views import service_unavailable  # here: core.views imports this module

            return service_unavailable(request, exception)
        return None

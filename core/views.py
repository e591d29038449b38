from __future__ import annotations

import logging
import sys
import uuid
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

from core import health
from core.errors import error_body
from core.middleware import DATABASE_OUTAGE_ERRORS
from core.palette import palette_results
from core.search import search_everything

# Django's own channel for failed requests: whatever watches it sees these with their id.
errors_log = logging.getLogger("django.request")

OUTAGE_DETAIL = "The service is briefly unavailable; try again shortly."
RETRY_AFTER_SECONDS = 5


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    replica = health.replica_status()  # reported only: the primary serves reads without it
    if replica is not None:
        body["replica"] = replica
    return JsonResponse(body, status=200 if healthy else 503)


def search(request: HttpRequest) -> HttpResponse:
    results = search_everything(request.user, request.GET.get("q", ""))
    template = "core/search.html#results" if request.htmx else "core/search.html"
    response = render(request, template, {"results": results})
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def palette(request: HttpRequest) -> HttpResponse:
    """The command palette's list (static/js/palette.js asks as the user types): a fragment
    whatever the request, since only the palette asks; without JavaScript the palette's
    button is a link to the search page."""
    mode = request.GET.get("mode", "")
    results = palette_results(request.user, request.GET.get("q", ""), mode=mode)
    return render(request, "core/palette.html#results", {"palette": results})


# --- Error pages ------------------------------------------------------------------------
# config/urls.py points handler400/403/404/500 here. 400, 403 and 404 render in the
# product's look (base.html, with the navigation for a signed-in user). The 500 and 503
# pages are standalone templates rendered without a request, hence without context
# processors: they need neither the session, the user nor the database, which may be
# what failed.


def new_error_id() -> str:
    """12 hex characters: short enough to read out to support, unique enough to find."""
    return uuid.uuid4().hex[:12]


def _back_url(request: HttpRequest) -> str:
    """Where the user came from, as a path on this site (never a link off-site)."""
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 page for a request with a forged Host header
        return ""
    if referer.scheme not in ("http", "https") or referer.netloc != host:
        return ""
    path = referer.path or "/"
    if path == request.path or not url_has_allowed_host_and_scheme(path, allowed_hosts=set()):
        return ""  # itself, or "//elsewhere" that browsers read as another host
    return f"{path}?{referer.query}" if referer.query else path


def _error_page(request: HttpRequest, template: str, status: int, **context) -> HttpResponse:
    return render(request, template, {"back_url": _back_url(request), **context}, status=status)


def _standalone_page(template: str, context: dict, status: int) -> HttpResponse:
    try:
        body = loader.render_to_string(template, context)  # no request: no context processors
    except Exception:  # the page reporting a failure must not fail in turn
        errors_log.exception("The %s page could not be rendered", template)
        body = (
            "<!doctype html><title>Rapport</title><p>Something went wrong on our side. "
            f"Error id: {context.get('error_id', '')}</p>"
        )
    return HttpResponse(body, status=status)


@requires_csrf_token  # the page's forms (search, sign out) need the visitor's usual token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith("/api/"):  # a forged Host header, say: the API's shape
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return _error_page(request, "400.html", 400)


@requires_csrf_token
def refused_input(request: HttpRequest, reason: str, status: int = 400) -> HttpResponse:
    """Input no page can use (core.middleware.InputLimitsMiddleware): the 400 page, saying
    which parameter or field was at fault (413 for a form too large)."""
    return _error_page(request, "400.html", status, reason=reason, status_code=status)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Our PermissionDenied messages are written for people ("Only admins …"); show them.
    reason = str(exception) if isinstance(exception, PermissionDenied) else ""
    if request.path_info.startswith("/api/"):
        detail = reason or "You may not do this."
        return JsonResponse(error_body("permission_denied", detail), status=403)
    return _error_page(request, "403.html", 403, reason=reason)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent with a stale or missing token. Django's reason is for
    developers ("CSRF cookie not set."); the page says what to do instead."""
    return _error_page(request, "403_csrf.html", 403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        # A URL no API route matches (/api/v1/relationships/0.5/): the documented JSON error,
        # like every other API answer, not the HTML page.
        return JsonResponse(
            error_body(
                "not_found",
                "Not found: no API operation has this address. They are listed at /api/docs/.",
            ),
            status=404,
        )
    return _error_page(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unhandled exception: a page with an error id, logged with the traceback under the
    same id so support can find it. Django calls this inside its ``except`` block, so
    sys.exc_info() is the exception, wherever it was raised (view or middleware)."""
    exc_info = sys.exc_info()
    if isinstance(exc_info[1], DATABASE_OUTAGE_ERRORS):
        return service_unavailable(request, exc_info[1])
    error_id = log_server_error(request, exc_info if exc_info[0] else None)
    response = _standalone_page(
        "500.html", {"error_id": error_id, "back_url": _back_url(request)}, 500
    )
    response._has_been_logged = True  # logged above, with the id: Django need not again
    return response


def log_server_error(request: HttpRequest, exc_info: tuple | None) -> str:
    """Log an unhandled exception with its traceback under a new error id; return the id."""
    error_id = new_error_id()
    request.error_id = error_id
    errors_log.error(
        "Internal Server Error: %s (error %s)",
        request.path,
        error_id,
        exc_info=exc_info,
        extra={"status_code": 500, "request": request, "error_id": error_id},
    )
    return error_id


def log_outage(request: HttpRequest, exception: Exception) -> str:
    """Log a request the database outage failed: a warning (it heals), with an id."""
    error_id = new_error_id()
    request.error_id = error_id
    errors_log.warning(
        "Service Unavailable: %s (error %s): database unreachable: %s: %s",
        request.path,
        error_id,
        exception.__class__.__name__,
        str(exception).strip()[:300],
        extra={"status_code": 503, "request": request, "error_id": error_id},
    )
    return error_id


def service_unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    """503 while the database is unreachable: JSON under /api/, the outage page elsewhere,
    with Retry-After; never a traceback."""
    error_id = log_outage(request, exception)
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {**error_body("unavailable", OUTAGE_DETAIL), "error_id": error_id}, status=503
        )
    else:
        # A page the user navigated to retries itself; a form post or an HTMX swap does not.
        retry = request.method == "GET" and "HTTP_HX_REQUEST" not in request.META
        context = {"error_id": error_id, "retry_after": RETRY_AFTER_SECONDS, "retry": retry}
        response = _standalone_page("503.html", context, 503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)  # an outage page must not outlive the outage in a cache
    response._has_been_logged = True
    return response

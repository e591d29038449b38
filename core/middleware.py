"""Middleware of Rapport's own: headers Django has no setting for, and the 503 answer when the
database is briefly out of reach (a restart, a failover) instead of a 500 and a traceback."""

from __future__ import annotations

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

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

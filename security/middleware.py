"""Session lifetimes, and refusals, enforced and logged for every request.

Both classes sit after MessageMiddleware (so a sign-out can leave a message) and so after
AuthenticationMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from core.errors import error_body
from security.lockout import is_api_request
from security.models import SecurityEvent
from security.services import (
    SEEN_AT,
    SIGNED_IN_AT,
    security_event_record,
    user_session_forget,
    user_session_touch,
)

# Activity is written to the session at most this often: not one database write per page.
TOUCH_INTERVAL_SECONDS = 60
# Sent by requests no person asked for (the notification badge's polling): they must not
# keep an abandoned session alive.
BACKGROUND_HEADER = "X-Rapport-Background"


def _is_background(request: HttpRequest) -> bool:
    return request.headers.get(BACKGROUND_HEADER, "").lower() == "true"


def _plural(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


class SessionTimeoutMiddleware:
    """Signs a session out after SESSION_IDLE_TIMEOUT_MINUTES without activity, and after
    SESSION_ABSOLUTE_TIMEOUT_HOURS whatever the activity. The sign-in time and the last
    activity live in the session, so the check itself costs no query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY not in session:  # anonymous: nothing to time out
            return self.get_response(request)
        now = timezone.now()
        stamp = int(now.timestamp())
        signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
        if signed_in is not None and seen is not None:
            expired = self._expiry_message(stamp - signed_in, stamp - seen)
            if expired:
                response = self._sign_out(request, expired)
                if response is not None:
                    return response
                return self.get_response(request)
        due = seen is None or (
            not _is_background(request) and stamp - seen >= TOUCH_INTERVAL_SECONDS
        )
        if due and request.user.is_authenticated:
            user_session_touch(request=request, user=request.user, now=now)
        return self.get_response(request)

    @staticmethod
    def _expiry_message(since_sign_in: int, since_seen: int) -> str:
        hours = settings.SESSION_ABSOLUTE_TIMEOUT_HOURS
        minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
        if since_sign_in > hours * 3600:
            return f"You were signed out {_plural(hours, 'hour')} after signing in."
        if since_seen > minutes * 60:
            return f"You were signed out after {_plural(minutes, 'minute')} without activity."
        return ""

    def _sign_out(self, request: HttpRequest, message: str) -> HttpResponse | None:
        """End the session; the response to send, or None to carry on signed out (an API
        call with its own token)."""
        user = request.user if request.user.is_authenticated else None
        security_event_record(
            kind=SecurityEvent.Kind.SESSION_EXPIRED, request=request, actor=user, detail=message
        )
        user_session_forget(session_key=request.session.session_key)
        # Not logout(): that would log a sign-out the user never asked for.
        request.session.flush()
        request.user = AnonymousUser()
        if is_api_request(request):
            if request.headers.get("Authorization"):
                return None  # the token decides
            response = JsonResponse(
                error_body("session_expired", f"{message} Sign in again."), status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        messages.info(request, message)
        if request.headers.get("HX-Request") == "true":
            # A fragment request: send the whole page to the sign-in form, back to where it was.
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            target = current.path + (f"?{current.query}" if current.query else "")
            return HttpResponseClientRedirect(redirect_to_login(target or "/").url)
        return redirect_to_login(request.get_full_path() if request.method == "GET" else "/")


class DeniedRequestLogMiddleware:
    """Every page answered 403 goes to the security log with its path. (The API's refusals
    are recorded by its exception handler, which marks the request so they count once.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 403
            and not getattr(request, "security_denial_logged", False)
            and not _is_background(request)  # a poll refused again and again is no news
        ):
            reason = getattr(request, "security_denial_reason", "")
            security_event_record(
                kind=SecurityEvent.Kind.PERMISSION_DENIED,
                request=request,
                detail=f"{request.method} refused" + (f": {reason}" if reason else ""),
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Keep the view's own explanation for the log; Django then renders the 403 page.
        if isinstance(exception, PermissionDenied):
            request.security_denial_reason = str(exception)
        return None

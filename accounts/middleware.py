"""Confine an admin or executive the security policy obliges to use two-factor authentication
to the set-up page until they have set it up."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from accounts.twofactor import SETUP_REQUIRED_SESSION_KEY, two_factor_enabled, two_factor_required
from core.errors import error_body

# What such a user may still reach: the set-up page itself and the way in and out.
ALLOWED_URL_NAMES = frozenset({"two_factor_setup", "login", "login_verify", "logout"})


class TwoFactorPolicyMiddleware:
    """The decision is taken at sign-in (accounts.twofactor.flag_setup_required) and kept in
    the session, so only the users it concerns pay for a check on each request. The check
    is repeated for them, so switching the policy off, or an admin changing their role,
    frees them at once. Static files are served before this runs (WhiteNoise)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not request.session.get(SETUP_REQUIRED_SESSION_KEY):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in ALLOWED_URL_NAMES and not match.namespace:
            return None
        user = request.user
        if not user.is_authenticated or not two_factor_required(user) or two_factor_enabled(user):
            del request.session[SETUP_REQUIRED_SESSION_KEY]
            return None
        message = "Set up two-factor authentication first: your role requires it."
        if request.path.startswith("/api/"):
            return JsonResponse(error_body("two_factor_setup_required", message), status=403)
        if getattr(request, "htmx", False):
            # A fragment request (e.g. the notification badge): refuse without swapping a
            # whole page into the fragment's place.
            return HttpResponse(message, status=403)
        return redirect("two_factor_setup")

"""Two-factor pages: the sign-in's second step, set-up, recovery codes and turning it off.

Sign-in with two-factor happens in two requests. The password step (SignInView) checks the
password through django-axes as before, but for a user with a confirmed authenticator app
it only records a *pending* sign-in in the (still anonymous) session: user id, where to go
next, an expiry and a count of wrong codes. ``login_verify`` then takes the code and only
then calls ``django.contrib.auth.login`` (which rotates the session key) and
``django_otp.login``.

Every view here is ``never_cache`` (Cache-Control: no-store): the pages carry the TOTP key,
recovery codes or a half-finished sign-in.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import django_otp
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import LoginForm, TwoFactorCodeForm, TwoFactorDisableForm, TwoFactorSetupForm
from accounts.models import User
from accounts.twofactor import (
    MAX_CODE_ATTEMPTS,
    PENDING_SECONDS,
    PENDING_SESSION_KEY,
    SETUP_REQUIRED_SESSION_KEY,
    record_failed_sign_in,
    recovery_codes_regenerate,
    totp_qr_data_uri,
    totp_secret_text,
    two_factor_confirm,
    two_factor_disable,
    two_factor_enabled,
    two_factor_setup_start,
    two_factor_verify,
)
from core.errors import RuleViolation
from security.lockout import sign_in_refusal, sign_in_refused_response, username_for_records


class SignInView(LoginView):
    """Django's LoginView, stopping short of login() for users with two-factor on."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Before any password is checked: an address spraying passwords, or an account
        # attacked from many addresses, is refused (security/lockout.py).
        typed = {"username": request.POST.get("username", "")}
        if refusal := sign_in_refusal(request, username_for_records(request, typed)):
            return sign_in_refused_response(request, refusal)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: LoginForm) -> HttpResponse:
        user = form.get_user()
        if not two_factor_enabled(user):
            return super().form_valid(form)
        self.request.session[PENDING_SESSION_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,  # set by authenticate(); login() needs it back
            "next": self.get_success_url(),  # already checked to be a safe, local URL
            "expires_at": time.time() + PENDING_SECONDS,
            "failures": 0,
        }
        return redirect("login_verify")


def _restart_sign_in(request: HttpRequest, message: str, next_url: str = "") -> HttpResponse:
    request.session.pop(PENDING_SESSION_KEY, None)
    messages.error(request, message)
    url = reverse("login")
    if next_url and next_url != reverse("home"):
        url += "?" + urlencode({"next": next_url})
    return redirect(url)


@login_not_required
@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: a code from the app or a recovery code."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending:
        return redirect("login")
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if time.time() > pending["expires_at"] or user is None:
        return _restart_sign_in(
            request,
            "Your sign-in timed out before the code was entered. Sign in again.",
            pending["next"],
        )
    if request.method == "POST" and (refusal := sign_in_refusal(request, user.get_username())):
        request.session.pop(PENDING_SESSION_KEY, None)
        return sign_in_refused_response(request, refusal)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=user, code=form.cleaned_data["code"], request=request)
        except RuleViolation as error:
            # A code sent while told to wait counts too: otherwise the rule below would never
            # end a sign-in that is being guessed at faster than the back-off allows.
            if error.code in ("wrong_code", "too_many_attempts"):
                pending["failures"] += 1
                request.session[PENDING_SESSION_KEY] = pending  # mark the session modified
                if pending["failures"] >= MAX_CODE_ATTEMPTS:
                    record_failed_sign_in(request=request, username=user.get_username())
                    return _restart_sign_in(
                        request,
                        f"{MAX_CODE_ATTEMPTS} wrong codes: that sign-in was abandoned. "
                        "Sign in again with your password.",
                        pending["next"],
                    )
            form.add_error("code", error.message)
        else:
            del request.session[PENDING_SESSION_KEY]
            login(request, user, backend=pending["backend"])  # rotates the session key
            django_otp.login(request, device)
            return redirect(pending["next"])
    context = {
        "form": form,
        "attempts_left": MAX_CODE_ATTEMPTS - pending["failures"],
        "max_attempts": MAX_CODE_ATTEMPTS,
    }
    return render(
        request, "registration/login_verify.html", context, status=400 if form.errors else 200
    )


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin's own login form would skip the second step: use ours."""
    url = reverse("login")
    if next_url := request.GET.get("next"):
        url += "?" + urlencode({"next": next_url})  # LoginView checks it is a local URL
    return redirect(url)


def _recovery_codes_page(
    request: HttpRequest, codes: list[str], *, first_time: bool
) -> HttpResponse:
    text = "Rapport recovery codes for {}\nEach code works once.\n\n{}\n".format(
        request.user.get_username(), "\n".join(codes)
    )
    context = {
        "codes": codes,
        "first_time": first_time,
        "download_uri": "data:text/plain;charset=utf-8;base64,"
        + base64.b64encode(text.encode()).decode(),
    }
    return render(request, "accounts/two_factor/recovery_codes.html", context)


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Show the QR code and secret; a correct code from the app turns two-factor on."""
    if two_factor_enabled(request.user):
        messages.info(request, "Two-factor authentication is already on.")
        return redirect("profile")
    form = TwoFactorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor_confirm(
                user=request.user, code=form.cleaned_data["code"], request=request
            )
        except RuleViolation as error:
            form.add_error("code", error.message)
        else:
            # This session has just shown the second factor: count it as verified.
            django_otp.login(request, device)
            request.session.pop(SETUP_REQUIRED_SESSION_KEY, None)
            return _recovery_codes_page(request, codes, first_time=True)
    device = two_factor_setup_start(user=request.user)
    context = {
        "form": form,
        "qr_uri": totp_qr_data_uri(device),
        "secret": totp_secret_text(device),
        "required": request.session.get(SETUP_REQUIRED_SESSION_KEY, False),
    }
    return render(
        request, "accounts/two_factor/setup.html", context, status=400 if form.errors else 200
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, for a current code; the old set stops working."""
    if not two_factor_enabled(request.user):
        return redirect("two_factor_setup")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = recovery_codes_regenerate(
                user=request.user, code=form.cleaned_data["code"], request=request
            )
        except RuleViolation as error:
            form.add_error("code", error.message)
        else:
            return _recovery_codes_page(request, codes, first_time=False)
    return render(
        request,
        "accounts/two_factor/recovery_codes.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    if not two_factor_enabled(request.user):
        return redirect("profile")
    form = TwoFactorDisableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor_disable(user=request.user, request=request, **form.cleaned_data)
        except RuleViolation as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Two-factor authentication is off.")
            return redirect("profile")
    return render(
        request,
        "accounts/two_factor/disable.html",
        {"form": form},
        status=400 if form.errors else 200,
    )

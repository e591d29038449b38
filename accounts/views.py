from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from accounts.forms import ProfileForm, TokenForm
from accounts.models import ApiToken
from accounts.services import (
    user_password_changed,
    user_password_reset_requested,
    user_update_profile,
)
from accounts.tokens import token_create, token_revoke
from accounts.twofactor import two_factor_status
from core.errors import RuleViolation
from security.lockout import password_reset_lockout_message
from security.selectors import user_sessions_active
from security.services import user_session_rekeyed


def _profile_context(request: HttpRequest, **extra) -> dict:
    return {
        "form": ProfileForm(instance=request.user),
        "token_form": TokenForm(),
        "tokens": ApiToken.objects.filter(user=request.user),
        "now": timezone.now(),
        # Lazy: the tokens fragment renders this context too and never looks at it.
        "two_factor": SimpleLazyObject(lambda: two_factor_status(request.user)),
        "sessions": SimpleLazyObject(
            lambda: user_sessions_active(request.user, current_key=request.session.session_key)
        ),
        **extra,
    }


def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            user_update_profile(user=request.user, **form.cleaned_data)
            messages.success(request, "Your profile has been saved.")
            return redirect("profile")
        return render(request, "accounts/profile.html", _profile_context(request, form=form))
    return render(request, "accounts/profile.html", _profile_context(request))


@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    """Create a token and show it once, in this response only (it is never stored)."""
    form = TokenForm(request.POST)
    new_token = None
    if form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            token, raw = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                request=request,
            )
        except RuleViolation as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            new_token = {"token": token, "raw": raw}
            form = TokenForm()
    context = _profile_context(request, token_form=form, new_token=new_token)
    template = "accounts/profile.html#tokens" if request.htmx else "accounts/profile.html"
    response = render(
        request, template, context, status=200 if form.is_valid() or new_token else 400
    )
    response["Vary"] = "HX-Request"
    response["Cache-Control"] = "no-store"  # the one-time token must not be cached anywhere
    return response


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token, by=request.user, request=request)
    if request.htmx:
        response = render(request, "accounts/profile.html#tokens", _profile_context(request))
        response["Vary"] = "HX-Request"
        return response
    messages.success(request, f"The token “{token.name}” is revoked.")
    return redirect("profile")


# --- Passwords: Django's views, plus session ending, the reset limit and the log ---------


class PasswordChangeView(auth_views.PasswordChangeView):
    """The user stays signed in here; every other session of theirs ends."""

    def form_valid(self, form) -> HttpResponse:
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # saves; this session gets a new key
        new_key = self.request.session.session_key
        user_session_rekeyed(old_key=old_key, new_key=new_key)
        user_password_changed(
            user=form.user, by=self.request.user, request=self.request, keep_session_key=new_key
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Refuses (no e-mail) after too many requests for one address from one client."""

    def form_valid(self, form) -> HttpResponse:
        if not user_password_reset_requested(
            email=form.cleaned_data["email"], request=self.request
        ):
            form.add_error(None, password_reset_lockout_message())
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset ends every session of the account: whoever else was in is out."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        user_password_changed(user=form.user, by=form.user, request=self.request, reset=True)
        return response

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.forms import PasswordChangeForm, ProfileForm, SetPasswordForm, TokenForm
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


@sensitive_post_parameters("current_password", "code")
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        old_email = request.user.email  # before the bound form sets the new one on the user
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = user_update_profile(
                    user=request.user,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    password=data["current_password"],
                    code=data.get("code", ""),
                    request=request,
                )
            except RuleViolation as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, "Your profile has been saved.")
                if user.email != old_email:
                    now = f"is now {user.email}" if user.email else "was removed"
                    told = " A notice went to the previous one." if old_email else ""
                    messages.info(request, f"Your e-mail address {now}.{told}")
                return redirect("profile")
        # Nothing was saved, but the bound form set the typed values on the user: undo that.
        request.user.refresh_from_db(fields=["first_name", "last_name", "email"])
        return render(
            request, "accounts/profile.html", _profile_context(request, form=form), status=400
        )
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
    # htmx swaps only 2xx answers: there the fragment with its errors comes back as 200.
    refused = new_token is None and not request.htmx
    response = render(request, template, context, status=400 if refused else 200)
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
    """The user stays signed in here; every other session of theirs ends, and their API
    tokens too unless they untick that."""

    form_class = PasswordChangeForm

    def form_valid(self, form) -> HttpResponse:
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # saves; this session gets a new key
        new_key = self.request.session.session_key
        user_session_rekeyed(old_key=old_key, new_key=new_key)
        changed = user_password_changed(
            user=form.user,
            by=self.request.user,
            request=self.request,
            keep_session_key=new_key,
            revoke_tokens=form.cleaned_data.get("revoke_tokens", False),
        )
        _tell_what_became_of_tokens(self.request, form, changed.tokens_revoked)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Refuses (no e-mail) after too many requests for one address from one client. The
    e-mail's link starts with SITE_URL, never with the request's Host (see core/links.py)."""

    @property
    def extra_email_context(self) -> dict:
        return {"site_url": settings.SITE_URL}

    def form_valid(self, form) -> HttpResponse:
        if not user_password_reset_requested(
            email=form.cleaned_data["email"], request=self.request
        ):
            form.add_error(None, password_reset_lockout_message())
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset ends every session of the account: whoever else was in is out. Its API
    tokens are revoked too unless the user unticks that."""

    form_class = SetPasswordForm

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        changed = user_password_changed(
            user=form.user,
            by=form.user,
            request=self.request,
            reset=True,
            revoke_tokens=form.cleaned_data.get("revoke_tokens", False),
        )
        _tell_what_became_of_tokens(self.request, form, changed.tokens_revoked)
        return response


def _tell_what_became_of_tokens(request: HttpRequest, form, revoked: int) -> None:
    """On the page after a new password: the tokens revoked, or those kept working."""
    if revoked:
        what = "Your API token was" if revoked == 1 else f"Your {revoked} API tokens were"
        messages.success(
            request, f"{what} revoked: give your integrations new ones from your profile page."
        )
    elif form.usable_tokens:
        kept = form.usable_tokens
        what = "Your API token still works" if kept == 1 else f"Your {kept} API tokens still work"
        messages.info(request, f"{what}: revoke any you no longer trust on your profile page.")

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.template.defaultfilters import pluralize

from accounts.models import ApiToken, User
from accounts.tokens import tokens_usable
from accounts.twofactor import two_factor_enabled


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class ProfileForm(forms.ModelForm):
    """Name and e-mail; changing the e-mail also takes the current password, and a code
    when two-factor is on (accounts.services.user_update_profile checks them)."""

    current_password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        help_text="Needed only to change your e-mail address.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if two_factor_enabled(self.instance):
            self.fields["code"] = _code_field(
                "Authentication code",
                "Also needed to change your e-mail address: the code your authenticator app "
                "shows now, or a recovery code.",
                autofocus=False,
            )
            self.fields["code"].required = False


class TokenForm(forms.Form):
    EXPIRY_CHOICES = [
        ("", "Never"),
        ("30", "In 30 days"),
        ("90", "In 90 days"),
        ("365", "In a year"),
    ]

    name = forms.CharField(max_length=80, help_text="What it is for, e.g. “Finance sync”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )


def _code_field(label: str, help_text: str, *, autofocus: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": autofocus,
            }
        ),
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
    )


class _RevokeTokensMixin:
    """Offers, ticked, to revoke the user's API tokens with a new password: whoever knew
    the old one could have made tokens with it. Not shown to a user without tokens."""

    def _offer_token_revocation(self, user: User) -> None:
        self.usable_tokens = tokens_usable(user).count()
        if self.usable_tokens:
            count = self.usable_tokens
            self.fields["revoke_tokens"] = forms.BooleanField(
                label=f"Also revoke my {count} API token{pluralize(count)}",
                help_text="Integrations using them stop working until you give them new "
                "tokens. Keep this ticked if anyone else may have known your password.",
                required=False,
                initial=True,
            )


class PasswordChangeForm(_RevokeTokensMixin, auth_forms.PasswordChangeForm):
    def __init__(self, user: User, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self._offer_token_revocation(user)


class SetPasswordForm(_RevokeTokensMixin, auth_forms.SetPasswordForm):
    """The password reset's new password."""

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self._offer_token_revocation(user)


class TwoFactorCodeForm(forms.Form):
    """The second sign-in step, regenerating recovery codes: an app code or a recovery code."""

    code = _code_field(
        "Authentication code",
        "The 6-digit code your authenticator app shows now, or one of your recovery codes.",
    )


class TwoFactorSetupForm(forms.Form):
    code = _code_field(
        "Code from the app", "Enter the 6-digit code the app shows, to check it is set up."
    )


class TwoFactorDisableForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = _code_field(
        "Authentication code",
        "A current code from your authenticator app, or a recovery code.",
        autofocus=False,
    )

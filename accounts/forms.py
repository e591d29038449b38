from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import ApiToken, User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]


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

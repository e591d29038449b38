"""Form pieces every app shares."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator

from core.limits import LONG_TEXT

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """``<input type="date">`` always holds an ISO date (2026-12-04), whatever the locale:
    a browser drops any other value (en-gb's 04/12/2026 left the field blank)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None, format: str | None = None) -> None:
        super().__init__(attrs, format or ISO_DATE)


def limit_text(form: forms.BaseForm, *names: str, limit: int = LONG_TEXT) -> None:
    """Hold a model form's free-text fields (TextField, which has no length of its own) to
    ``limit`` characters, as the API's serializers and the services do (core.limits): the
    browser stops typing at the limit and a longer post is refused beside the field."""
    for name in names:
        field = form.fields[name]
        field.max_length = limit
        field.validators.append(MaxLengthValidator(limit))
        field.widget.attrs["maxlength"] = str(limit)

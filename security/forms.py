from __future__ import annotations

from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from core.forms import DateInput
from security.models import SecurityEvent

# Far-off dates are refused with a message: beyond them the time-zone arithmetic of a
# range would overflow instead of simply finding nothing.
_EARLIEST, _LATEST = date(2000, 1, 1), date(2999, 12, 31)


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=DateInput,
        validators=[MinValueValidator(_EARLIEST), MaxValueValidator(_LATEST)],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class SecurityLogFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="What", choices=[("", "Anything"), *SecurityEvent.Kind.choices], required=False
    )
    user = forms.CharField(
        label="User", max_length=150, required=False, help_text="Username, exactly."
    )
    date_from = _date_field("From")
    date_to = _date_field("To")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” must be on or after “From”.")
        return cleaned

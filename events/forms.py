"""The filters of the organisation-wide "What changed" page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from accounts.models import Team, User
from core.forms import DateInput
from events.vocabulary import VERBS

# Dates outside these years are typing mistakes (and year 9999 has no day after it).
FIRST_YEAR, LAST_YEAR = 1900, 2999


class ActivityFilterForm(forms.Form):
    verb = forms.MultipleChoiceField(
        label="What happened",
        required=False,
        choices=[(verb, f"{verb} — {words}") for verb, words in sorted(VERBS.items())],
    )
    team = forms.ModelChoiceField(
        label="Team", required=False, queryset=Team.objects.order_by("name")
    )
    actor = forms.ModelChoiceField(
        label="Person",
        required=False,
        queryset=User.objects.order_by("first_name", "last_name", "username"),
    )
    since = forms.DateField(label="From", required=False, widget=DateInput())
    until = forms.DateField(label="To", required=False, widget=DateInput())
    before = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        for name, day in (("since", since), ("until", until)):
            if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(name, f"Give a date between {FIRST_YEAR} and {LAST_YEAR}.")
                return data
        if since and until and since > until:
            self.add_error("until", "The end date comes before the start date.")
        return data

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The dates as a [since, until) range of aware datetimes, whole local days."""
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")

        def start_of(day) -> datetime:
            return timezone.make_aware(datetime.combine(day, time.min))

        return (
            start_of(since) if since else None,
            start_of(until + timedelta(days=1)) if until else None,
        )

"""The dashboard's filters: period, team, stakeholder category, relationship type.

The page, its CSV downloads, its print view and the API endpoint all read the same query
parameters through this form, so a URL means the same figures everywhere. Bad input never
fails the page: each invalid field shows its error and falls back to its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms

from accounts.models import Team
from core.forms import DateInput
from core.reference import ReferenceChoiceField
from relationships.models import RelationshipType
from stakeholders.models import Category

MAX_CUSTOM_DAYS = 5 * 366  # "at most five years", leap days included

PERIODS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("this_year", "This year"),
    ("last_12_months", "Last 12 months"),
    ("custom", "Custom dates"),
]
DEFAULT_PERIOD = "last_12_months"
FILTER_PARAMS = ("period", "from", "to", "team", "category", "type")


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_bounds(period: str, today: date) -> tuple[date, date]:
    """First and last day (inclusive) of a named period containing or preceding ``today``."""
    if period == "this_month":
        return _month_start(today), _month_end(today)
    if period == "last_month":
        end = _month_start(today) - timedelta(days=1)
        return _month_start(end), end
    if period == "this_quarter":
        start = _quarter_start(today)
        return start, _month_end(date(start.year, start.month + 2, 1))
    if period == "last_quarter":
        end = _quarter_start(today) - timedelta(days=1)
        return _quarter_start(end), end
    if period == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    # last_12_months: the twelve months ending today (a year ago tomorrow … today).
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


@dataclass(frozen=True)
class DashboardFilters:
    """What every selector receives: the resolved period and the optional slices."""

    start: date
    end: date
    period: str = DEFAULT_PERIOD
    team: Team | None = None
    category: Category | None = None
    type: RelationshipType | None = None
    today: date = field(default_factory=date.today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_start(self) -> date:
        """The previous period has the same length and ends the day before this one starts."""
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"

    def params(self) -> dict[str, str]:
        """The query parameters that reproduce these filters (for links and CSV URLs)."""
        params = {"period": self.period}
        if self.period == "custom":
            params["from"] = self.start.isoformat()
            params["to"] = self.end.isoformat()
        for name in ("team", "category", "type"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value.pk)
        return params

    @property
    def query(self) -> str:
        return urlencode(self.params())

    def list_params(self) -> dict[str, str]:
        """The relationship list's parameters for the same slices (relationships.filters)."""
        return {
            name: str(getattr(self, name).pk)
            for name in ("team", "category", "type")
            if getattr(self, name) is not None
        }


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, initial=DEFAULT_PERIOD)
    # Reference tables: offered and checked from the cache (core.reference).
    team = ReferenceChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="All teams"
    )
    category = ReferenceChoiceField(
        queryset=Category.objects.order_by("position", "name"),
        required=False,
        label="Stakeholder category",
        empty_label="All categories",
    )
    type = ReferenceChoiceField(
        queryset=RelationshipType.objects.order_by("name"),
        required=False,
        label="Relationship type",
        empty_label="All types",
    )

    def __init__(self, data=None, *, today: date, **kwargs) -> None:
        # Without a period the default applies, and the select should say so.
        data = data.copy() if data is not None else {}
        if not data.get("period"):
            data["period"] = DEFAULT_PERIOD
        super().__init__(data, **kwargs)
        self.today = today
        # "from" is a Python keyword, so these two are added here rather than declared.
        date_input = DateInput()
        self.fields["from"] = forms.DateField(required=False, label="From", widget=date_input)
        self.fields["to"] = forms.DateField(required=False, label="To", widget=date_input)
        self.order_fields(["period", "from", "to", "team", "category", "type"])

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("period") != "custom":
            return cleaned
        start, end = cleaned.get("from"), cleaned.get("to")
        if "from" in self.errors or "to" in self.errors:
            return cleaned
        if start is None or end is None:
            self.add_error(
                "from" if start is None else "to", "Give both dates for a custom period."
            )
        elif start > end:
            self.add_error("to", "The end date must be on or after the start date.")
        elif (end - start).days + 1 > MAX_CUSTOM_DAYS:
            self.add_error("to", "A custom period can be at most five years long.")
        return cleaned

    def filters(self) -> DashboardFilters:
        """The filters to show: valid fields as given, invalid ones at their defaults."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        period = data.get("period") or DEFAULT_PERIOD
        if period == "custom" and {"period", "from", "to"} & set(self.errors):
            period = DEFAULT_PERIOD  # an unusable custom range falls back to the default
        if period == "custom":
            start, end = data["from"], data["to"]
        else:
            start, end = period_bounds(period, self.today)
        return DashboardFilters(
            start=start,
            end=end,
            period=period,
            team=data.get("team") if "team" not in self.errors else None,
            category=data.get("category") if "category" not in self.errors else None,
            type=data.get("type") if "type" not in self.errors else None,
            today=self.today,
        )

"""The filters of the stakeholder and contact lists (and their CSV exports and the API)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from stakeholders.models import Category, Contact, Stakeholder
from stakeholders.search import Search, SearchFilter, search_refused, stakeholder_list_q
from stakeholders.selectors import FIT_BANDS, fit_band_q, stakeholder_countries


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering that always ends with name and id, so pages never overlap or skip rows."""

    def filter(self, qs: QuerySet, value) -> QuerySet:
        ordering = [self.get_ordering_value(param) for param in value or [] if param]
        return qs.order_by(*ordering, "name", "pk")


def _country_choices() -> list[tuple[str, str]]:
    return [(country, country) for country in stakeholder_countries()]


def _fill_countries(filterset: django_filters.FilterSet) -> None:
    """Countries are whatever the registry holds: read when the form is built. The form
    field is built once and cached on the filter (``_field``); the filters are deep copies
    of the class's, whose field may already exist (the OpenAPI schema builds it), so drop
    the copy's field and let it be rebuilt with today's choices."""
    country = filterset.filters["country"]
    country.extra["choices"] = _country_choices()
    country.__dict__.pop("_field", None)


def stakeholders_matching(queryset: QuerySet, search: Search) -> QuerySet:
    """Name or e-mail (accents, case and punctuation ignored), sector, country or
    description: the list's ``q`` and the API's ``?search=``."""
    return queryset.filter(stakeholder_list_q(search))


def contacts_matching(queryset: QuerySet, search: Search) -> QuerySet:
    """Name or e-mail (accents, case and punctuation ignored), role or notes, or the
    organisation's name."""
    own = Contact.objects.filter(
        search.keys_q(names=["search_name"], emails=["search_email"]) | search.text_q("contact")
    )
    organisation = search.keys_q(names=["stakeholder__normalised_name"])
    at_organisation = Contact.objects.filter(organisation)
    # One id set from two index-served halves: an OR with the organisation's name in it
    # would have PostgreSQL read every contact (and compute its text vector).
    ids = own.order_by().values("pk").union(at_organisation.order_by().values("pk"), all=True)
    return queryset.filter(pk__in=ids)


FIT_BAND_CHOICES = [
    (band, f"{band.title()} ({low}–{high})") for band, (low, high) in FIT_BANDS.items()
]


class StakeholderFilter(django_filters.FilterSet):
    q = SearchFilter(match=stakeholders_matching)
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), empty_label="Any category"
    )
    kind = django_filters.ChoiceFilter(choices=Stakeholder.Kind.choices, empty_label="Any kind")
    fit = django_filters.ChoiceFilter(
        choices=FIT_BAND_CHOICES, method="filter_fit", label="Value fit", empty_label="Any fit"
    )
    country = django_filters.ChoiceFilter(choices=[], empty_label="Any country")
    sort = StableOrderingFilter(
        fields=(("name", "name"), ("value_fit", "fit"), ("created_at", "created")),
        field_labels={
            "name": "Name (A–Z)",
            "-name": "Name (Z–A)",
            "fit": "Value fit (lowest first)",
            "-fit": "Value fit (best first)",
            "created": "Created (oldest first)",
            "-created": "Created (newest first)",
        },
        label="Sort",
        empty_label=None,
    )

    class Meta:
        model = Stakeholder
        fields = ["q", "category", "kind", "fit", "country"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _fill_countries(self)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if search_refused(self):
            return queryset.none()
        return super().filter_queryset(queryset)

    def filter_fit(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(fit_band_q(value)) if value in FIT_BANDS else queryset


class ContactFilter(django_filters.FilterSet):
    q = SearchFilter(match=contacts_matching)
    category = django_filters.ModelChoiceFilter(
        field_name="stakeholder__category",
        queryset=Category.objects.all(),
        empty_label="Any category",
        label="Category",
    )
    country = django_filters.ChoiceFilter(
        field_name="stakeholder__country",
        choices=[],
        empty_label="Any country",
        label="Country",
    )
    sort = django_filters.OrderingFilter(
        fields=(("name", "name"), ("stakeholder__name", "stakeholder"), ("created_at", "created")),
        field_labels={
            "name": "Name (A–Z)",
            "-name": "Name (Z–A)",
            "stakeholder": "Organisation (A–Z)",
            "-stakeholder": "Organisation (Z–A)",
            "created": "Created (oldest first)",
            "-created": "Created (newest first)",
        },
        label="Sort",
        empty_label=None,
    )

    class Meta:
        model = Contact
        fields = ["q", "category", "country"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _fill_countries(self)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if search_refused(self):
            return queryset.none()
        return super().filter_queryset(queryset)

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not queryset.query.order_by:
            queryset = queryset.order_by("name", "pk")
        else:
            queryset = queryset.order_by(*queryset.query.order_by, "pk")
        return queryset

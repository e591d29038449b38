"""The relationship list's filters and sorting: the web list, the CSV export and the API
share this FilterSet, so a bookmarked URL means the same thing everywhere."""

from __future__ import annotations

from collections.abc import Collection

import django_filters
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from accounts.models import Role, Team, User
from core.reference import ReferenceChoiceField
from relationships.models import HEALTH_BANDS, LIFECYCLE, Relationship, RelationshipType, Stage
from stakeholders.models import Category
from stakeholders.search import Search, SearchFilter, search_refused

VALUE_FIT_BANDS = {"high": (70, 100), "medium": (40, 69), "low": (0, 39)}

# Stage in lifecycle order (ended last) so "sort by stage" follows the lifecycle, not the alphabet.
STAGE_ORDER = Case(
    *[When(stage=stage, then=Value(index)) for index, stage in enumerate(LIFECYCLE)],
    default=Value(len(LIFECYCLE)),
    output_field=IntegerField(),
)

SORTS = {
    "stakeholder": ("Stakeholder", ["stakeholder__name", "id"]),
    "-stakeholder": ("Stakeholder (Z–A)", ["-stakeholder__name", "-id"]),
    "health": ("Health (lowest first)", ["health_score", "stakeholder__name", "id"]),
    "-health": ("Health (highest first)", ["-health_score", "stakeholder__name", "id"]),
    "stage": ("Stage", ["stage_order", "stakeholder__name", "id"]),
    "-stage": ("Stage (latest first)", ["-stage_order", "stakeholder__name", "id"]),
    "last_contact": (
        "Last contact (longest ago first)",
        [F("last_interaction_on").asc(nulls_first=True), "stakeholder__name", "id"],
    ),
    "-last_contact": (
        "Last contact (most recent first)",
        [F("last_interaction_on").desc(nulls_last=True), "stakeholder__name", "id"],
    ),
    "next_review": (
        "Next review (soonest first)",
        [F("next_review_on").asc(nulls_last=True), "stakeholder__name", "id"],
    ),
    "-next_review": (
        "Next review (latest first)",
        [F("next_review_on").desc(nulls_last=True), "stakeholder__name", "id"],
    ),
}


def _band_filter(field: str, bands: dict[str, tuple[int, int]]):
    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value not in bands:
            return queryset
        low, high = bands[value]
        return queryset.filter(**{f"{field}__gte": low, f"{field}__lte": high})

    return apply


def matching_relationship_ids(search: Search, type_ids: Collection[int] = ()) -> QuerySet:
    """Ids of the relationships whose stakeholder's name or whose purpose matches, or of one
    of ``type_ids``: the list's search and the global one. A union of index-served parts,
    because an OR across the stakeholder join would read every relationship and stakeholder.
    """
    parts = [
        Relationship.objects.filter(search.keys_q(names=["stakeholder__normalised_name"])),
        Relationship.objects.filter(search.text_q("relationship")),
    ]
    if type_ids:
        parts.append(Relationship.objects.filter(type_id__in=type_ids))
    ids = [part.order_by().values("pk") for part in parts]
    return ids[0].union(*ids[1:], all=True)


def relationships_matching(queryset: QuerySet, search: Search) -> QuerySet:
    """The stakeholder's name (accents, case and punctuation ignored: stakeholders.search)
    or the purpose: the list's ``q`` and the API's ``?search=``."""
    return queryset.filter(pk__in=matching_relationship_ids(search))


class ReferenceFilter(django_filters.ModelChoiceFilter):
    """A choice of a small reference table, offered and checked from the cache."""

    field_class = ReferenceChoiceField


class RelationshipFilter(django_filters.FilterSet):
    q = SearchFilter(match=relationships_matching)
    category = ReferenceFilter(
        field_name="stakeholder__category",
        queryset=Category.objects.order_by("position", "name"),
        label="Category",
        empty_label="Any",
    )
    type = ReferenceFilter(queryset=RelationshipType.objects.order_by("name"), empty_label="Any")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any")
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[("active", "Active"), ("ended", "Ended")],
        method="filter_status",
        empty_label="Any",
    )
    manager = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN]).order_by(
            "first_name", "last_name", "username"
        ),
        empty_label="Any",
        null_label="No manager",  # ?manager=null: the continuity gap the dashboard counts
    )
    team = ReferenceFilter(queryset=Team.objects.order_by("name"), empty_label="Any")
    health = django_filters.ChoiceFilter(
        label="Health",
        choices=[(band, band.title()) for band in HEALTH_BANDS],
        method=_band_filter("health_score", HEALTH_BANDS),
        empty_label="Any",
    )
    value_fit = django_filters.ChoiceFilter(
        label="Value fit",
        choices=[(band, band.title()) for band in VALUE_FIT_BANDS],
        method=_band_filter("stakeholder__value_fit", VALUE_FIT_BANDS),
        empty_label="Any",
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        method="apply_sort",
        empty_label="Stakeholder",
    )

    class Meta:
        model = Relationship
        fields = [
            "q",
            "category",
            "type",
            "stage",
            "status",
            "manager",
            "team",
            "health",
            "value_fit",
        ]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.exclude(stage=Stage.ENDED)
        return queryset.filter(stage=Stage.ENDED)

    def apply_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Applied in filter_queryset below so the default order holds without ?sort=.
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if search_refused(self):
            return queryset.none()
        queryset = super().filter_queryset(queryset)
        key = self.form.cleaned_data.get("sort") or "stakeholder"
        return queryset.annotate(stage_order=STAGE_ORDER).order_by(*SORTS[key][1])

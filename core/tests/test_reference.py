"""Reference tables offered as choices come from the cache, and any change shows at once."""

from __future__ import annotations

import pytest
from django import forms

from accounts.models import Team
from core.reference import ReferenceChoiceField, reference_rows
from stakeholders.models import Stakeholder

pytestmark = pytest.mark.django_db


class TeamPicker(forms.Form):
    team = ReferenceChoiceField(queryset=Team.objects.order_by("name"), required=False)


def _names() -> list[str]:
    return [team.name for team in reference_rows(Team.objects.order_by("name"))]


def test_rows_are_read_once_then_served_from_the_cache(django_assert_num_queries):
    Team.objects.create(name="North")
    assert _names() == ["North"]
    with django_assert_num_queries(0):
        assert _names() == ["North"]


@pytest.mark.parametrize("change", ["create", "rename", "delete"])
def test_any_change_is_seen_by_the_next_read(change):
    north = Team.objects.create(name="North")
    assert _names() == ["North"]
    if change == "create":
        Team.objects.create(name="East")
        expected = ["East", "North"]
    elif change == "rename":
        north.name = "South"
        north.save()
        expected = ["South"]
    else:
        north.delete()
        expected = []
    assert _names() == expected


def test_the_field_offers_and_checks_the_cached_rows(django_assert_num_queries):
    north = Team.objects.create(name="North")
    str(TeamPicker()["team"])  # rendering reads the rows into the cache
    with django_assert_num_queries(0):
        form = TeamPicker({"team": str(north.pk)})
        assert form.is_valid()
        assert form.cleaned_data["team"] == north
        assert f'value="{north.pk}"' in str(form["team"])


@pytest.mark.parametrize("value", ["999999", "abc", "1 OR 1=1"])
def test_an_unknown_choice_is_a_clear_field_error(value):
    Team.objects.create(name="North")
    form = TeamPicker({"team": value})
    assert not form.is_valid()
    assert "Select a valid choice" in form.errors["team"][0]


def test_an_untracked_model_is_refused_rather_than_served_stale():
    with pytest.raises(LookupError, match="not tracked"):
        reference_rows(Stakeholder.objects.all())

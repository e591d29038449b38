"""Counts read as English: "1 relationship", "2 relationships", never "1 relationships"
(#16, 12)."""

from __future__ import annotations

from datetime import date

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from dashboard import charts
from dashboard.forms import DashboardFilters
from relationships.models import Stage

pytestmark = pytest.mark.django_db


def test_the_funnel_counts_one_relationship_and_several_relationships():
    figures = {
        "portfolio": {
            "active": 3,
            "stages": [
                {"stage": Stage.PILOT, "label": "Pilot", "count": 1},
                {"stage": Stage.BUILD, "label": "Build", "count": 2},
            ],
        }
    }
    filters = DashboardFilters(start=date(2026, 1, 1), end=date(2026, 3, 31))
    svg = str(charts.funnel_chart(figures, filters).svg)
    assert "<title>Pilot: 1 relationship</title>" in svg
    assert "<title>Build: 2 relationships</title>" in svg


@pytest.mark.parametrize(("days", "words"), [(1, "Due in the next day"), (7, "next 7 days")])
def test_the_reviews_page_says_day_or_days(client, manager_a, settings, days, words):
    settings.REMINDER_LOOKAHEAD_DAYS = days
    client.force_login(manager_a)
    assert words in client.get("/reviews/").content.decode()


@pytest.mark.parametrize(("seconds", "words"), [(1, "in 1 second."), (30, "in 30 seconds.")])
def test_the_unavailable_page_says_second_or_seconds(seconds, words):
    request = RequestFactory().get("/")
    html = render_to_string("503.html", {"retry": True, "retry_after": seconds}, request=request)
    assert words in html


def test_the_satisfaction_tile_counts_one_review_and_one_answer():
    satisfaction = {"combined_on_five": 4.0, "feedback_responses": 1, "reviews": 1}
    html = render_to_string("dashboard/_figures.html", {"figures": {"satisfaction": satisfaction}})
    assert "(1 feedback answer, 1 review)" in html

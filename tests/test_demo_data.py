"""The demo data `make run` loads reads like an organisation with history: the dashboard's
heat map, adoption and trends show months of activity, not one busy afternoon."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def _chart_rows(client, name: str) -> list[dict[str, str]]:
    response = client.get(reverse("dashboard:chart_csv", args=[name]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_demo_shows_months_of_activity_on_the_dashboard(client):
    call_command("seed_demo", "--scale", "small", stdout=io.StringIO())
    client.force_login(User.objects.get(username="executive"))

    weekly = _chart_rows(client, "weekly")
    weeks = [column for column in weekly[0] if column[:2] == "20"]
    assert len(weeks) == 12
    # Every past week of the heat map has interactions (this one may have only begun), logged
    # by the managers and the contributor alike.
    per_week = [sum(int(person[week]) for person in weekly) for week in weeks]
    assert all(per_week[:-1]), per_week
    assert {person["Person"] for person in weekly} >= {
        "Maya Manager",
        "Milo Morgan",
        "Cai Contributor",
    }

    for team in _chart_rows(client, "adoption"):
        assert float(team["Share 90 days (%)"]) >= 50, team

    value = _chart_rows(client, "value")
    main_unit = value[0]["Unit"]
    months_with_value = [row for row in value if row["Unit"] == main_unit and row["Total"] != "0"]
    assert len(months_with_value) >= 9, value

    satisfaction = _chart_rows(client, "satisfaction")
    rated = [row for row in satisfaction if row["Combined (1–5)"]]
    assert len(rated) >= 8, satisfaction

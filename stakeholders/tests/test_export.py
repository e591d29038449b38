from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import ContactFactory, RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_has_only_the_filtered_rows(client, contributor_a):
    StakeholderFactory(name="Kenyan Org", country="Kenya")
    StakeholderFactory(name="Peruvian Org", country="Peru")
    client.force_login(contributor_a)
    response = client.get(reverse("stakeholders:export"), {"country": "Kenya"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert [row["name"] for row in _rows(response)] == ["Kenyan Org"]


def test_the_export_is_spreadsheet_safe(client, contributor_a):
    StakeholderFactory(name='=HYPERLINK("http://evil")', sector="+cmd", country="Kenya")
    client.force_login(contributor_a)
    row = _rows(client.get(reverse("stakeholders:export")))[0]
    assert row["name"].startswith("'=")
    assert row["sector"] == "'+cmd"


def test_the_export_counts_only_relationships_the_user_may_see(client, contributor_a, team_b):
    stakeholder = StakeholderFactory(name="Org")
    RelationshipFactory(stakeholder=stakeholder)
    RelationshipFactory(stakeholder=stakeholder, confidential=True, team=team_b)
    client.force_login(contributor_a)
    assert _rows(client.get(reverse("stakeholders:export")))[0]["relationships"] == "1"


def test_the_contact_export_follows_the_filters(client, contributor_a):
    ContactFactory(name="Jane", stakeholder=StakeholderFactory(name="A", country="Kenya"))
    ContactFactory(name="Joe", stakeholder=StakeholderFactory(name="B", country="Peru"))
    client.force_login(contributor_a)
    response = client.get(reverse("stakeholders:contact_export"), {"country": "Peru"})
    assert [(r["name"], r["organisation"]) for r in _rows(response)] == [("Joe", "B")]


def test_the_list_page_links_to_the_export_with_its_filters(client, contributor_a):
    StakeholderFactory(country="Kenya")
    client.force_login(contributor_a)
    body = client.get(reverse("stakeholders:index"), {"country": "Kenya", "page": 1}).content
    assert f'{reverse("stakeholders:export")}?country=Kenya"'.encode() in body

"""Stakeholders, contacts, values and assessments through the API; malformed input of every
kind answering 4xx with field errors (never 500, nothing half-saved); throttling."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from relationships.models import Interaction, Relationship
from stakeholders.models import Assessment, Contact, Stakeholder
from tests.api.conftest import field_errors
from tests.factories import (
    ContactFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(as_user, manager_a):
    return as_user(manager_a)


# --- Stakeholders ---------------------------------------------------------------------


def test_a_manager_adds_a_stakeholder_with_values_and_fit(manager_api, manager_a):
    ours = [ValueFactory(name="Trust", weight=3), ValueFactory(name="Care", weight=1)]
    response = manager_api.post(
        "/api/v1/stakeholders/",
        {"name": " Northwind ", "website": "https://northwind.example", "values": [ours[0].pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["kind"], body["value_fit"]) == ("Northwind", "organisation", 75)
    assert body["values"] == [ours[0].pk]
    stakeholder = Stakeholder.objects.get()
    assert stakeholder.created_by == manager_a
    assert stakeholder.history.first().history_user == manager_a


def test_a_likely_duplicate_is_refused_with_the_matches(manager_api):
    existing = StakeholderFactory(name="Société Générale")
    response = manager_api.post("/api/v1/stakeholders/", {"name": "societe generale"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "possible_duplicate"
    assert body["duplicates"] == [{"id": existing.pk, "name": "Société Générale"}]
    assert Stakeholder.objects.count() == 1
    response = manager_api.post(
        "/api/v1/stakeholders/", {"name": "societe generale", "allow_duplicate": True}
    )
    assert response.status_code == 201


def test_a_stale_stakeholder_edit_answers_409_naming_the_change(manager_api, manager_b):
    from stakeholders import services

    stakeholder = StakeholderFactory(sector="Energy")
    services.stakeholder_update(
        stakeholder=stakeholder, by=manager_b, expected_version=1, sector="Water"
    )
    response = manager_api.patch(
        f"/api/v1/stakeholders/{stakeholder.pk}/", {"version": 1, "sector": "Health"}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert any("Water" in line for line in body["changes"])
    stakeholder.refresh_from_db()
    assert stakeholder.sector == "Water"


def test_stakeholder_fields_that_are_not_editable_stay_put(manager_api, manager_b):
    stakeholder = StakeholderFactory()
    response = manager_api.patch(
        f"/api/v1/stakeholders/{stakeholder.pk}/",
        {"version": 1, "value_fit": 100, "power": 5, "created_by": manager_b.pk, "country": "FR"},
    )
    assert response.status_code == 200
    stakeholder.refresh_from_db()
    assert (stakeholder.value_fit, stakeholder.power, stakeholder.created_by) == (0, None, None)
    assert (stakeholder.country, stakeholder.version) == ("FR", 2)


def test_there_is_no_delete_merging_is_the_way(as_user, admin_user, manager_a):
    survivor, duplicate = StakeholderFactory(name="Acme"), StakeholderFactory(name="ACME Ltd")
    relationship = RelationshipFactory(stakeholder=duplicate)
    admin = as_user(admin_user)
    assert admin.delete(f"/api/v1/stakeholders/{survivor.pk}/").status_code == 405
    manager = as_user(manager_a)
    response = manager.post(
        f"/api/v1/stakeholders/{survivor.pk}/merge/", {"duplicate": duplicate.pk}
    )
    assert response.status_code == 403
    admin = as_user(admin_user)
    response = admin.post(f"/api/v1/stakeholders/{survivor.pk}/merge/", {"duplicate": duplicate.pk})
    assert response.status_code == 200
    assert response.json()["relationship_count"] == 1
    relationship.refresh_from_db()
    assert relationship.stakeholder == survivor
    assert not Stakeholder.objects.filter(pk=duplicate.pk).exists()


def test_relationship_counts_hide_confidential_relationships(as_user, manager_a, team_b):
    stakeholder = StakeholderFactory()
    RelationshipFactory(stakeholder=stakeholder, team=team_b)
    RelationshipFactory(stakeholder=stakeholder, team=team_b, confidential=True)
    body = as_user(manager_a).get(f"/api/v1/stakeholders/{stakeholder.pk}/").json()
    assert body["relationship_count"] == 1


def test_stakeholder_list_uses_the_web_filters(manager_api):
    StakeholderFactory(name="Zeta", country="France")
    StakeholderFactory(name="Alpha", country="Spain")
    StakeholderFactory(name="Mu", country="France", kind="individual")
    response = manager_api.get("/api/v1/stakeholders/", {"country": "France"})
    listed = response.json()
    assert [s["name"] for s in listed["results"]] == ["Mu", "Zeta"]
    listed = manager_api.get("/api/v1/stakeholders/", {"sort": "-name"}).json()
    assert [s["name"] for s in listed["results"]] == ["Zeta", "Mu", "Alpha"]
    listed = manager_api.get("/api/v1/stakeholders/", {"ordering": "-name"}).json()
    assert [s["name"] for s in listed["results"]] == ["Zeta", "Mu", "Alpha"]
    listed = manager_api.get("/api/v1/stakeholders/", {"search": "alp"}).json()
    assert [s["name"] for s in listed["results"]] == ["Alpha"]
    assert manager_api.get("/api/v1/stakeholders/", {"country": "Atlantis"}).status_code == 400
    assert manager_api.get("/api/v1/stakeholders/", {"kind": "robot"}).status_code == 400


# --- Contacts, values, assessments ----------------------------------------------------


def test_contacts_are_created_and_edited_with_a_version(manager_api):
    stakeholder = StakeholderFactory()
    response = manager_api.post(
        "/api/v1/contacts/", {"stakeholder": stakeholder.pk, "name": "Ada", "email": "a@x.org"}
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    assert manager_api.patch(f"/api/v1/contacts/{pk}/", {"role": "CEO"}).status_code == 400
    response = manager_api.patch(f"/api/v1/contacts/{pk}/", {"version": 1, "role": "CEO"})
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert manager_api.patch(f"/api/v1/contacts/{pk}/", {"version": 1}).status_code == 409


def test_only_admins_edit_our_values_and_fit_follows(as_user, manager_a, admin_user):
    value = ValueFactory(name="Trust", weight=1)
    stakeholder = StakeholderFactory()
    stakeholder.values.add(value)
    ValueFactory(name="Care", weight=1)
    assert as_user(manager_a).get("/api/v1/values/").json()["count"] == 2
    assert as_user(manager_a).patch(f"/api/v1/values/{value.pk}/", {"weight": 3}).status_code == 403
    admin = as_user(admin_user)
    response = admin.patch(f"/api/v1/values/{value.pk}/", {"weight": 3})
    assert response.status_code == 200
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 75
    assert admin.post("/api/v1/values/", {"name": "Trust"}).status_code == 400  # unique
    assert admin.patch(f"/api/v1/values/{value.pk}/", {"weight": 11}).status_code == 400
    assert admin.delete(f"/api/v1/values/{value.pk}/").status_code == 204
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 0


def test_assessments_keep_history_and_update_the_current_scores(manager_api):
    stakeholder = StakeholderFactory()
    yesterday = (timezone.localdate() - timezone.timedelta(days=1)).isoformat()
    first = {"stakeholder": stakeholder.pk, "power": 2, "interest": 5, "assessed_on": yesterday}
    assert manager_api.post("/api/v1/assessments/", first).status_code == 201
    response = manager_api.post(
        "/api/v1/assessments/", {"stakeholder": stakeholder.pk, "power": 4, "interest": 1}
    )
    assert response.status_code == 201
    stakeholder.refresh_from_db()
    assert (stakeholder.power, stakeholder.interest) == (4, 1)
    listed = manager_api.get("/api/v1/assessments/", {"stakeholder": stakeholder.pk}).json()
    assert [a["power"] for a in listed["results"]] == [4, 2]
    future = {**first, "assessed_on": "2999-01-01"}
    response = manager_api.post("/api/v1/assessments/", future)
    assert response.status_code == 400
    assert response.json()["code"] == "future_date"
    response = manager_api.post("/api/v1/assessments/", {**first, "power": 6})
    assert response.status_code == 400
    assert "power" in field_errors(response)
    assert Assessment.objects.count() == 2


# --- Malformed input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "content_type", "status", "field"),
    [
        ("/api/v1/stakeholders/", "{not json", "application/json", 400, None),
        ("/api/v1/stakeholders/", "name=Acme", "application/x-www-form-urlencoded", 415, None),
        ("/api/v1/stakeholders/", "<a/>", "text/xml", 415, None),
        ("/api/v1/stakeholders/", '["a list"]', "application/json", 400, None),
        ("/api/v1/stakeholders/", '{"name": ["Acme"]}', "application/json", 400, "name"),
        ("/api/v1/stakeholders/", '{"name": "' + "x" * 201 + '"}', "application/json", 400, "name"),
        ("/api/v1/stakeholders/", '{"name": "A", "kind": "robot"}', "application/json", 400,
         "kind"),
        ("/api/v1/stakeholders/", '{"name": "A", "website": "javascript:alert(1)"}',
         "application/json", 400, "website"),
        ("/api/v1/stakeholders/", '{"name": "A", "email": "nope"}', "application/json", 400,
         "email"),
        ("/api/v1/stakeholders/", '{"name": "A", "values": [99999999999999999999999]}',
         "application/json", 400, "values"),
        ("/api/v1/stakeholders/", '{"name": "A", "category": "x"}', "application/json", 400,
         "category"),
        ("/api/v1/contacts/", '{"name": "A", "stakeholder": 10e30}', "application/json", 400,
         "stakeholder"),
        ("/api/v1/relationships/", '{"stakeholder": true}', "application/json", 400,
         "stakeholder"),
        ("/api/v1/relationships/", '{"stakeholder": 1, "review_cadence_days": 3}',
         "application/json", 400, "review_cadence_days"),
        ("/api/v1/interactions/", '{"relationship": 1, "occurred_on": "yesterday"}',
         "application/json", 400, "occurred_on"),
        ("/api/v1/interactions/", '{"relationship": 1, "occurred_on": "2024-01-01", '
         '"channel": "pigeon", "summary": "x", "sentiment": 7}', "application/json", 400,
         "channel"),
        ("/api/v1/interactions/", '{"relationship": 1, "summary": "' + "x" * 10_001 + '"}',
         "application/json", 400, "summary"),
        ("/api/v1/value-records/", '{"relationship": 1, "recorded_on": "2024-01-01", '
         '"kind": "revenue", "amount": "NaN", "unit": "GBP"}', "application/json", 400, "amount"),
        ("/api/v1/value-records/", '{"relationship": 1, "recorded_on": "2024-01-01", '
         '"kind": "revenue", "amount": "123456789012345.00", "unit": "GBP"}',
         "application/json", 400, "amount"),
    ],
)  # fmt: skip
def test_malformed_input_answers_4xx_with_field_errors(
    manager_api, team_a, manager_a, url, body, content_type, status, field
):
    RelationshipFactory(pk=1, team=team_a, manager=manager_a, stakeholder=StakeholderFactory(pk=1))
    before = (Stakeholder.objects.count(), Contact.objects.count(), Interaction.objects.count())
    response = manager_api.generic("POST", url, body, content_type=content_type)
    assert response.status_code == status, response.content
    if field:
        assert field in field_errors(response)
    after = (Stakeholder.objects.count(), Contact.objects.count(), Interaction.objects.count())
    assert after == before
    assert Relationship.objects.count() == 1


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "99999"},
        {"page_size": "-5"},
        {"relationship": "99999999999999999999999"},
        {"relationship": "x"},
        {"occurred_after": "not-a-date"},
        {"ordering": "summary;drop table"},
        {"channel": "pigeon"},
    ],
)
def test_odd_query_strings_never_fail_with_500(manager_api, query):
    response = manager_api.get("/api/v1/interactions/", query)
    assert response.status_code in (200, 400, 404), response.content


def test_unknown_ids_in_the_path_are_404(manager_api):
    for url in (
        "/api/v1/relationships/99999999999999999999999/",
        "/api/v1/relationships/abc/",
        "/api/v1/commitments/0/status/",
        "/api/v1/stakeholders/-1/",
    ):
        if url.endswith("status/"):
            response = manager_api.post(url, {"status": "kept"})
        else:
            response = manager_api.get(url)
        assert response.status_code == 404, url


# --- Throttling -----------------------------------------------------------------------


@pytest.fixture
def low_rates(monkeypatch):
    # Throttles read their rates from this class attribute (filled from settings at import).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})


def test_a_user_over_the_rate_gets_429_with_retry_after(manager_api, low_rates):
    statuses = [manager_api.get("/api/v1/relationships/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = manager_api.get("/api/v1/stakeholders/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_each_user_has_their_own_allowance(as_user, manager_a, manager_b, low_rates):
    for _ in range(3):
        as_user(manager_a).get("/api/v1/relationships/")
    assert as_user(manager_a).get("/api/v1/relationships/").status_code == 429
    assert as_user(manager_b).get("/api/v1/relationships/").status_code == 200


def test_anonymous_calls_are_refused_before_any_throttle_counts(api, low_rates):
    # DRF checks permissions before throttles: an anonymous flood gets cheap 401s (the
    # anonymous rate applies to the open endpoints, e.g. the token endpoint's own throttle).
    statuses = {api.get("/api/v1/relationships/").status_code for _ in range(4)}
    assert statuses == {401}


@pytest.mark.parametrize("url", ["/api/v1/stakeholders/", "/api/v1/contacts/"])
def test_the_country_filter_still_knows_new_countries_after_the_schema_is_built(manager_api, url):
    # Building the OpenAPI schema (a /api/schema/ request) instantiates the FilterSets'
    # form fields; countries added afterwards must still be accepted by the filter.
    from drf_spectacular.generators import SchemaGenerator

    SchemaGenerator().get_schema(request=None, public=True)
    ContactFactory(stakeholder=StakeholderFactory(name="Late", country="Portugal"))
    response = manager_api.get(url, {"country": "Portugal"})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


@pytest.mark.parametrize("value", [5, 2.5, True, ["text"], {"text": "x"}])
def test_a_number_or_list_where_text_is_due_is_refused_naming_the_field(manager_api, value):
    # DRF's CharField would have stored 5 as "5": text fields take JSON strings only.
    stakeholder = StakeholderFactory()
    response = manager_api.post(
        "/api/v1/assessments/",
        {"stakeholder": stakeholder.pk, "power": 3, "interest": 4, "note": value},
        format="json",
    )
    assert response.status_code == 400
    assert "note" in str(response.json())
    assert not Assessment.objects.exists()

"""GET /api/v1/events/: scoped, newest first, cursor-paged, filterable; bad filters answer
400 with the API's error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from events.models import Event
from events.tests.test_feed import T0, record
from tests.api.conftest import field_errors
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_rel(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="build")


@pytest.fixture
def secret(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="build", confidential=True)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_list_is_newest_first_by_time_with_the_feeds_words(open_rel, manager_a):
    old = record(open_rel, at=T0 - timedelta(days=1), actor=manager_a)
    new = record(open_rel, at=T0, verb="commitment.created", actor=manager_a)
    body = api(manager_a).get("/api/v1/events/").json()
    assert [e["id"] for e in body["results"]] == [str(new.uuid), str(old.uuid)]
    first = body["results"][0]
    assert first["verb"] == "commitment.created"
    assert first["says"] == "recorded a commitment"
    assert first["actor"] == manager_a.pk
    assert first["subject"] == {
        "type": "relationships.interaction",
        "id": 1,
        "label": "Meeting on 2026-11-02",
    }
    assert first["relationship"] == open_rel.pk
    assert "next" in body and "count" not in body


def test_confidential_events_are_absent_and_their_detail_is_404(
    open_rel, secret, manager_a, manager_b
):
    hidden = record(secret, summary="SECRET-CANARY")
    shown = record(open_rel)
    client = api(manager_b)
    listed = client.get("/api/v1/events/")
    assert [e["id"] for e in listed.json()["results"]] == [str(shown.uuid)]
    assert "SECRET-CANARY" not in listed.content.decode()
    assert client.get(f"/api/v1/events/{hidden.uuid}/").status_code == 404
    assert client.get(f"/api/v1/events/{shown.uuid}/").status_code == 200
    assert api(manager_a).get(f"/api/v1/events/{hidden.uuid}/").status_code == 200


def test_filtering_by_a_hidden_relationship_is_refused_like_a_missing_one(secret, manager_b):
    record(secret)
    hidden = api(manager_b).get(f"/api/v1/events/?relationship={secret.pk}")
    missing = api(manager_b).get("/api/v1/events/?relationship=999999")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json().keys() == missing.json().keys()
    assert set(field_errors(hidden)) == set(field_errors(missing)) == {"relationship"}


def test_a_hidden_subject_id_finds_nothing_like_a_missing_one(secret, manager_b):
    hidden = record(secret)
    client = api(manager_b)
    base = "/api/v1/events/?subject_type=relationships.interaction&subject_id="
    assert hidden.subject_id == 1
    assert client.get(f"{base}1").json() == client.get(f"{base}999999").json()
    assert client.get(f"{base}1").json()["results"] == []


def test_filters(open_rel, manager_a, manager_b, team_b):
    other = RelationshipFactory(team=team_b, stage="build")
    a = record(open_rel, actor=manager_a, at=T0)
    b = record(open_rel, verb="commitment.created", actor=manager_a, at=T0 + timedelta(hours=1))
    c = record(other, verb="value_record.created", actor=manager_b, at=T0 + timedelta(hours=2))
    d = Event.objects.create(
        verb="review.completed",
        occurred_at=T0 + timedelta(hours=3),
        subject_type="reviews.review",
        subject_id=77,
        relationship_id=open_rel.pk,
        stakeholder_id=open_rel.stakeholder_id,
    )
    client = api(manager_a)

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/v1/events/?{query}")
        assert response.status_code == 200, response.content
        return {e["id"] for e in response.json()["results"]}

    assert ids("verb=interaction.logged") == {str(a.uuid)}
    assert ids("verb=interaction.logged&verb=value_record.created") == {str(a.uuid), str(c.uuid)}
    assert ids("subject_type=reviews.review&subject_id=77") == {str(d.uuid)}
    assert ids(f"relationship={other.pk}") == {str(c.uuid)}
    assert ids(f"stakeholder={open_rel.stakeholder_id}") == {str(a.uuid), str(b.uuid), str(d.uuid)}
    assert ids(f"actor={manager_b.pk}") == {str(c.uuid)}
    assert ids("since=2026-11-02T10:30:00Z") == {str(b.uuid), str(c.uuid), str(d.uuid)}
    assert ids("since=2026-11-02T10:30:00Z&until=2026-11-02T11:30:00Z") == {str(b.uuid)}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("verb=nonsense", "verb"),
        ("since=yesterday", "since"),
        ("until=2026-13-45T00:00:00Z", "until"),
        ("since=2026-12-05T00:00:00Z&until=2026-12-01T00:00:00Z", "until"),
        ("subject_id=5", "subject_id"),
        ("subject_type=x&subject_id=abc", "subject_id"),
        ("subject_type=x&subject_id=99999999999999999999999", "subject_id"),
        ("actor=abc", "actor"),
        ("stakeholder=99999999999999999999999", "stakeholder"),
        ("cursor=forged", "cursor"),
        ("page_size=0", "page_size"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(manager_a, query, field):
    response = api(manager_a).get(f"/api/v1/events/?{query}")
    assert response.status_code == 400, response.content
    assert field in field_errors(response)


def test_the_cursor_walks_every_event_once_even_as_new_ones_arrive(open_rel, manager_a):
    for n in range(7):
        record(open_rel, at=T0 - timedelta(minutes=n))
    client = api(manager_a)
    seen: list[str] = []
    url = "/api/v1/events/?page_size=3&since=2026-11-01T00:00:00Z"
    while url:
        body = client.get(url).json()
        seen += [e["id"] for e in body["results"]]
        record(open_rel, at=T0 + timedelta(hours=1))  # news while we page
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7


def test_a_read_only_token_may_read(open_rel, manager_a):
    from accounts.tokens import token_create

    record(open_rel)
    _token, raw = token_create(user=manager_a, name="sync", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get("/api/v1/events/").status_code == 200
    assert client.post("/api/v1/events/", {}).status_code in (403, 405)


def test_the_list_runs_a_fixed_number_of_queries(
    open_rel, manager_a, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    for n in range(60):
        record(open_rel, actor=UserFactory() if n % 3 else manager_a, at=T0 - timedelta(hours=n))
    client = api(manager_a)
    client.get("/api/v1/events/")  # warm the per-user caches
    with django_assert_max_num_queries(1):  # the events, actors joined (no COUNT)
        response = client.get("/api/v1/events/?verb=interaction.logged")
    assert len(response.json()["results"]) == 50


def test_the_schema_documents_the_endpoint(admin_user):
    schema = api(admin_user).get("/api/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    assert "/api/v1/events/" in text and "since" in text

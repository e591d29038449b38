"""The relationship list: live search, filters, sorting, pagination, export, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.backfill import events_backfill
from relationships.models import Relationship, RelationshipType
from relationships.tests.helpers import HTMX, client_for
from tests.factories import (
    CategoryFactory,
    CommitmentFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    UserFactory,
    ValueRecordFactory,
)

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [r.stakeholder.name for r in response.context["page"].object_list]


@pytest.fixture
def spread(manager_a, manager_b, team_a, team_b):
    donor = RelationshipTypeFactory(name="Donor")
    rels = [
        RelationshipFactory(
            stakeholder=StakeholderFactory(name="Alpha", value_fit=80),
            manager=manager_a,
            team=team_a,
            stage="pilot",
            health_score=85,
        ),
        RelationshipFactory(
            stakeholder=StakeholderFactory(
                name="Bravo", value_fit=50, category=CategoryFactory(name="Supplier")
            ),
            manager=manager_b,
            team=team_b,
            stage="identify",
            health_score=55,
            type=donor,
            last_interaction_on=timezone.localdate(),
        ),
        RelationshipFactory(
            stakeholder=StakeholderFactory(name="Charlie", value_fit=10),
            manager=manager_a,
            team=team_a,
            stage="review",
            health_score=20,
        ),
    ]
    # Set after saving: the reviews app schedules next_review_on whenever a relationship saves.
    today = timezone.localdate()
    for relationship, days in zip(rels, (30, 60, 3), strict=True):
        Relationship.objects.filter(pk=relationship.pk).update(
            next_review_on=today + timedelta(days=days)
        )
    return rels


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "Bravo", "Charlie"]),
        ("q=brav", ["Bravo"]),
        ("stage=review", ["Charlie"]),
        ("health=good", ["Alpha"]),
        ("health=fair", ["Bravo"]),
        ("health=poor", ["Charlie"]),
        ("value_fit=high", ["Alpha"]),
        ("value_fit=medium", ["Bravo"]),
        ("value_fit=low", ["Charlie"]),
        ("sort=-health", ["Alpha", "Bravo", "Charlie"]),
        ("sort=health", ["Charlie", "Bravo", "Alpha"]),
        ("sort=stage", ["Bravo", "Alpha", "Charlie"]),
        ("sort=-stakeholder", ["Charlie", "Bravo", "Alpha"]),
        ("sort=-last_contact", ["Bravo", "Alpha", "Charlie"]),
        ("sort=next_review", ["Charlie", "Alpha", "Bravo"]),
        ("sort=-next_review", ["Bravo", "Alpha", "Charlie"]),
    ],
)
def test_filters_and_sorting_work_as_plain_urls(executive, spread, query, expected):
    response = client_for(executive).get(reverse("relationships:index") + "?" + query)
    assert response.status_code == 200
    assert names(response) == expected


def test_filters_by_team_manager_type_and_category(executive, spread, team_b, manager_b):
    client = client_for(executive)
    url = reverse("relationships:index")
    bravo = spread[1]
    for query in (
        f"team={team_b.pk}",
        f"manager={manager_b.pk}",
        f"type={bravo.type_id}",
        f"category={bravo.stakeholder.category_id}",
    ):
        assert names(client.get(f"{url}?{query}")) == ["Bravo"], query


def test_htmx_requests_get_only_the_results_fragment(executive, spread):
    response = client_for(executive).get(reverse("relationships:index") + "?q=alp", **HTMX)
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<div id="results">')
    assert "Alpha" in content and "Bravo" not in content
    assert "HX-Request" in response["Vary"]


def test_the_list_pages_by_25_and_keeps_filters_in_page_links(executive):
    for n in range(30):
        RelationshipFactory(stakeholder=StakeholderFactory(name=f"Org {n:02d}"))
    client = client_for(executive)
    first = client.get(reverse("relationships:index") + "?stage=identify")
    assert len(first.context["page"].object_list) == 25
    assert "stage=identify&amp;page=2" in first.content.decode()
    second = client.get(reverse("relationships:index") + "?stage=identify&page=2")
    assert len(second.context["page"].object_list) == 5


def test_the_export_follows_the_filters(executive, spread):
    response = client_for(executive).get(reverse("relationships:export") + "?health=poor")
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Stakeholder", "Category", "Type", "Stage"]
    assert len(rows) == 2
    assert rows[1][0] == "Charlie"


# --- Query counts: the same cap with 30 and with 60 rows --------------------------------


def _relationships(count: int, manager, team) -> list:
    rels = []
    for n in range(count):
        rel = RelationshipFactory(
            manager=manager if n % 2 else UserFactory(role="manager", teams=[team]),
            team=team,
            stage=["identify", "present", "pilot", "build", "review"][n % 5],
            stakeholder=StakeholderFactory(category=CategoryFactory(name=f"Cat {n % 4}")),
            type=RelationshipTypeFactory(name=f"Type {n % 3}"),
        )
        rels.append(rel)
    return rels


@pytest.mark.parametrize("rows", [30, 60])
def test_the_list_query_count_does_not_grow_with_rows(
    django_assert_max_num_queries, manager_a, team_a, rows
):
    _relationships(rows, manager_a, team_a)
    client = client_for(manager_a)
    url = reverse("relationships:index") + "?sort=-health"
    client.get(url)  # reads the categories, types and teams into the reference cache
    # The user, the count, the page's rows, the managers offered by the filter. Each row's
    # type, team and category come from the reference cache, not from a join or a query.
    with django_assert_max_num_queries(4):
        response = client.get(url)
    content = response.content.decode()
    assert all(name in content for name in ("Cat 0", "Cat 3", "Type 0", "Type 2", "Team A"))


def test_a_type_the_cached_choices_lack_still_shows_on_its_rows(
    django_assert_max_num_queries, manager_a, team_a
):
    RelationshipFactory(manager=manager_a, team=team_a)
    client = client_for(manager_a)
    client.get(reverse("relationships:index"))  # caches the types, teams and categories
    # Written around the models' signals, as a raw import might: the cache misses it.
    (fresh,) = RelationshipType.objects.bulk_create([RelationshipType(name="Brand new")])
    for _ in range(3):
        RelationshipFactory(manager=manager_a, team=team_a, type=fresh)
    with django_assert_max_num_queries(5):  # one more for the rows of the missing type
        response = client.get(reverse("relationships:index"))
    assert "Brand new" in response.content.decode()


@pytest.mark.parametrize("rows", [30, 60])
def test_the_export_query_count_does_not_grow_with_rows(
    django_assert_max_num_queries, manager_a, team_a, rows
):
    _relationships(rows, manager_a, team_a)
    client = client_for(manager_a)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("relationships:export"))
        body = b"".join(response.streaming_content).decode()
    assert len(body.splitlines()) == rows + 1


@pytest.mark.parametrize("rows", [30, 60])
def test_the_board_query_count_does_not_grow_with_rows(
    django_assert_max_num_queries, manager_a, team_a, rows, monkeypatch
):
    from relationships import views

    monkeypatch.setattr(views, "BOARD_COLUMN_LIMIT", 5)  # every column has more: cut
    _relationships(rows, manager_a, team_a)
    client = client_for(manager_a)
    client.get(reverse("relationships:board"))  # the filters' reference rows, cached
    # The user, the stage totals, each full column's cut, the cards' ids, the cards, the
    # managers offered by the filter.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("relationships:board"))
    columns = response.context["board"]
    assert sum(column["total"] for column in columns) == rows
    assert all(len(column["cards"]) == 5 for column in columns)


@pytest.mark.parametrize("rows", [30, 60])
def test_my_commitments_query_count_does_not_grow_with_rows(
    django_assert_max_num_queries, manager_a, team_a, rows
):
    for rel in _relationships(rows, manager_a, team_a):
        CommitmentFactory(relationship=rel, owner=manager_a, due_on=timezone.localdate())
    client = client_for(manager_a)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("relationships:my_commitments"))
    assert len(response.context["commitments"]) == rows


@pytest.mark.parametrize("rows", [30, 60])
def test_the_detail_page_query_count_does_not_grow_with_rows(
    django_assert_max_num_queries, manager_a, contributor_a, team_a, rows
):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    contact = ContactFactory(stakeholder=relationship.stakeholder)
    for n in range(rows):
        interaction = InteractionFactory(relationship=relationship, summary=f"Meeting {n}")
        interaction.participant_users.set([manager_a, contributor_a])
        interaction.participant_contacts.set([contact])
        CommitmentFactory(
            relationship=relationship,
            owner=manager_a,
            source_interaction=interaction,
            due_on=timezone.localdate() - timedelta(days=n % 3),
            status=["open", "kept", "broken"][n % 3],
        )
        ValueRecordFactory(relationship=relationship, unit=["GBP", "EUR"][n % 2])
    events_backfill()  # the factories write around the services: the timeline reads events
    client = client_for(manager_a)
    # Edits and transitions give the history and the timeline something to show.
    client.post(
        reverse("relationships:transition", args=[relationship.pk]),
        {"to_stage": "review", "expected_stage": "build", "note": "Time to review"},
    )
    # Includes the reviews and plans blocks the page embeds (the history loads on demand);
    # constant in the number of rows, and within the pages' budget of 12. The session and
    # team ids come from the cache.
    client.get(relationship.get_absolute_url())
    with django_assert_max_num_queries(12):
        response = client.get(relationship.get_absolute_url())
    assert response.status_code == 200
    assert f"Meeting {rows - 1}" in response.content.decode()

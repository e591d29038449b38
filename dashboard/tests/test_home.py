"""The manager's home: reviews, commitments, relationships by health, activity, actions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from dashboard.tests.fixtures import NOW, TODAY, build_portfolio
from relationships.models import StageTransition
from tests.factories import (
    CommitmentFactory,
    InteractionFactory,
    RelationshipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portfolio(frozen, manager_a, contributor_a, team_a, team_b):
    return build_portfolio(manager_a, contributor_a, team_a, team_b)


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def test_my_reviews_due_and_overdue(client, portfolio, manager_a):
    client.force_login(manager_a)
    html = client.get("/dashboard/home/").content.decode()
    reviews = section(html, "home-reviews")
    overdue = reviews[reviews.index('id="overdue-reviews"') : reviews.index('id="due-reviews"')]
    due = reviews[reviews.index('id="due-reviews"') :]
    assert "Alder Trust" in overdue and "Hazel Water" not in overdue  # r8 is not mine
    assert "Fir Council" in due and "due today" in due  # due today
    assert "Birch Housing" in due  # in 5 days
    assert "Elm College" not in due  # 26 days away: beyond the 14-day lookahead


def test_my_open_commitments_overdue_first_both_directions(client, portfolio, manager_a):
    r1, r8 = portfolio["r1"], portfolio["r8"]
    CommitmentFactory(relationship=r1, description="Send the brief", due_on=TODAY + timedelta(3))
    CommitmentFactory(
        relationship=r1,
        direction="theirs",
        description="They send the data",
        due_on=TODAY - timedelta(2),
    )
    # Not my relationship, but I own it: still mine.
    CommitmentFactory(
        relationship=r8, owner=manager_a, description="Chase the invoice", due_on=None
    )
    CommitmentFactory(relationship=r1, description="Already done", status="kept")
    CommitmentFactory(relationship=r8, description="Someone else's")
    client.force_login(manager_a)
    html = section(client.get("/dashboard/home/").content.decode(), "home-commitments")
    order = [html.index(text) for text in ("They send the data", "Send the brief", "Chase")]
    assert order == sorted(order)
    assert "Overdue" in html[: html.index("They send the data")]
    assert "They promised" in html and "We promised" in html
    assert "Already done" not in html and "Someone else" not in html


def test_my_relationships_by_health_with_the_quiet_ones_flagged(client, portfolio, manager_a):
    client.force_login(manager_a)
    html = section(client.get("/dashboard/home/").content.decode(), "home-relationships")
    names = ["Elm College", "Birch Housing", "Alder Trust", "Fir Council"]  # 35, 50, 80, 95
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Cedar Foods" not in html  # ended
    assert "Hazel Water" not in html  # not mine
    elm_row = html[html.index("Elm College") : html.index("Birch Housing")]
    assert "Gone quiet" in elm_row and "never" in elm_row
    assert html.count("Gone quiet") == 1
    assert "(4, 1 gone quiet)" in html
    # Quick actions: the quick-log anchor and a POST to start the review.
    r1 = portfolio["r1"]
    assert f'href="/relationships/{r1.pk}/#quick-log"' in html
    assert f'action="/reviews/relationship/{r1.pk}/start/"' in html and 'method="post"' in html


def test_recent_activity_on_my_relationships(client, portfolio, manager_a, manager_b):
    r1, r8 = portfolio["r1"], portfolio["r8"]
    InteractionFactory(relationship=r1, created_by=manager_a, summary="Coffee with the CEO")
    InteractionFactory(relationship=r8, created_by=manager_b, summary="Not on my patch")
    StageTransition.objects.create(relationship=r1, from_stage="present", to_stage="pilot")
    client.force_login(manager_a)
    html = section(client.get("/dashboard/home/").content.decode(), "home-activity")
    assert "Coffee with the CEO" in html
    assert "moved from Present to Pilot" in html
    assert "Not on my patch" not in html


def test_a_contributor_sees_their_teams_relationships_without_review_buttons(
    client, portfolio, contributor_a
):
    client.force_login(contributor_a)
    html = client.get("/dashboard/home/").content.decode()
    relationships = section(html, "home-relationships")
    assert "My teams' relationships" in relationships
    assert "Alder Trust" in relationships and "Birch Housing" in relationships
    assert "Hazel Water" not in relationships
    assert "#quick-log" in relationships and "Start review" not in relationships
    assert "Alder Trust" in section(html, "home-reviews")


def test_an_executive_gets_the_dashboard_link_up_front(client, portfolio, executive):
    client.force_login(executive)
    html = client.get("/dashboard/home/").content.decode()
    assert 'id="dashboard-link"' in html and "Open the executive dashboard" in html


@pytest.mark.parametrize("n", [10, 50])
def test_the_home_query_count_does_not_grow(client, django_assert_max_num_queries, n, team_a):
    manager = UserFactory(username="busy", role="manager", teams=[team_a])
    for i in range(n):
        relationship = RelationshipFactory(
            manager=manager, team=team_a, stage="pilot", health_score=i % 100
        )
        InteractionFactory(relationship=relationship, created_by=manager)
        CommitmentFactory(relationship=relationship, owner=manager, due_on=date(2020, 1, 1))
        StageTransition.objects.create(
            relationship=relationship, from_stage="identify", to_stage="pilot"
        )
    client.force_login(manager)
    # Two queries each for reviews and commitments (mine, and asked of or owned by me).
    with django_assert_max_num_queries(11):
        response = client.get("/dashboard/home/")
    assert response.status_code == 200
    assert response.content.decode().count("#quick-log") == min(n, 50)

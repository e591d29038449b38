"""The board: each column's healthiest cards (then by name), totals, fresh on every view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relationships import views
from relationships.services import relationship_transition
from relationships.tests.helpers import client_for
from tests.factories import RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db


def _board(client) -> str:
    return client.get(reverse("relationships:board")).content.decode()


def _columns(client, **params) -> dict[str, tuple[list[str], int]]:
    board = client.get(reverse("relationships:board"), params).context["board"]
    return {
        column["stage"].value: (
            [card.stakeholder.name for card in column["cards"]],
            column["total"],
        )
        for column in board
    }


def _card(manager, team, name: str, health: int, stage: str = "build", **extra):
    return RelationshipFactory(
        manager=manager,
        team=team,
        stage=stage,
        health_score=health,
        stakeholder=StakeholderFactory(name=name),
        **extra,
    )


def test_a_move_shows_on_the_next_view_of_the_board(client, manager_a, team_a):
    relationship = _card(manager_a, team_a, "Heron Foods", 70, stage="present")
    client.force_login(manager_a)
    assert "Heron Foods" in _board(client)
    relationship_transition(relationship=relationship, to_stage="ended", by=manager_a, note="x")
    assert "Heron Foods" not in _board(client)  # ended: off the board at once
    _card(manager_a, team_a, "Osprey Ltd", 70, stage="identify")
    assert "Osprey Ltd" in _board(client)


def test_viewers_see_only_the_cards_they_may_see(client, manager_a, manager_b, team_b):
    _card(manager_b, team_b, "Secret Partner", 80, confidential=True)
    client.force_login(manager_b)
    assert "Secret Partner" in _board(client)
    assert _columns(client)["build"] == (["Secret Partner"], 1)
    client.force_login(manager_a)
    assert "Secret Partner" not in _board(client)
    assert _columns(client)["build"] == ([], 0)  # nor in the totals


def test_a_column_shows_the_healthiest_cards_then_by_name(manager_a, team_a, monkeypatch):
    monkeypatch.setattr(views, "BOARD_COLUMN_LIMIT", 4)
    # The fourth place is shared at 60: the first of them by name takes it.
    for name, health in [
        ("Delta", 60), ("Alpha", 60), ("Echo", 95), ("Bravo", 70),
        ("Charlie", 60), ("Foxtrot", 70), ("Golf", 20),
    ]:  # fmt: skip
        _card(manager_a, team_a, name, health)
    # Every card shares the score of the cut: the first four by name.
    for name in ["Kilo", "Juliet", "India", "Hotel", "Lima"]:
        _card(manager_a, team_a, name, 60, stage="pilot")
    # Fewer than the limit: all of them.
    _card(manager_a, team_a, "Mike", 10, stage="review")
    _card(manager_a, team_a, "November", 90, stage="review")

    columns = _columns(client_for(manager_a))
    assert columns["build"] == (["Echo", "Bravo", "Foxtrot", "Alpha"], 7)
    assert columns["pilot"] == (["Hotel", "India", "Juliet", "Kilo"], 5)
    assert columns["review"] == (["November", "Mike"], 2)
    assert columns["identify"] == ([], 0)


def test_the_board_filters_its_columns_and_totals(manager_a, manager_b, team_a, team_b):
    _card(manager_a, team_a, "Ours", 80)
    _card(manager_b, team_b, "Theirs", 90)
    client = client_for(manager_a)
    assert _columns(client)["build"] == (["Theirs", "Ours"], 2)
    assert _columns(client, team=team_a.pk)["build"] == (["Ours"], 1)
    assert _columns(client, health="good", q="thei")["build"] == (["Theirs"], 1)


def test_one_full_column_beside_short_ones(manager_a, team_a, monkeypatch):
    monkeypatch.setattr(views, "BOARD_COLUMN_LIMIT", 2)
    for name, health in [("Papa", 50), ("Oscar", 50), ("Quebec", 80)]:
        _card(manager_a, team_a, name, health, stage="identify")
    _card(manager_a, team_a, "Romeo", 40, stage="present")
    columns = _columns(client_for(manager_a))
    assert columns["identify"] == (["Quebec", "Oscar"], 3)
    assert columns["present"] == (["Romeo"], 1)


def test_cards_link_to_their_relationship_and_post_moves_to_it(
    client, manager_a, manager_b, team_a
):
    mine = _card(manager_a, team_a, "Kestrel", 70, stage="present")
    theirs = _card(manager_b, None, "Lapwing", 70, stage="present")
    client.force_login(manager_a)
    page = _board(client)
    move = reverse("relationships:transition", args=[mine.pk])
    assert f'<a href="{mine.get_absolute_url()}">Kestrel</a>' in page
    assert f'action="{move}"' in page and f'hx-post="{move}"' in page
    assert f'<a href="{theirs.get_absolute_url()}">Lapwing</a>' in page
    assert reverse("relationships:transition", args=[theirs.pk]) not in page  # not theirs to move


def test_a_refused_move_redraws_the_card_with_its_links(manager_a, team_a):
    card = _card(manager_a, team_a, "Merlin", 70, stage="present")
    move = reverse("relationships:transition", args=[card.pk])
    response = client_for(manager_a).post(
        f"{move}?team={team_a.pk}",
        {"to_stage": "pilot", "expected_stage": "present", "source": "board"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert "Record the partnering work session first" in content
    assert f'<a href="{card.get_absolute_url()}">Merlin</a>' in content
    assert f'hx-post="{move}?team={team_a.pk}"' in content

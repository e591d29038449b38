"""Demo data for `make run` and the benchmark: reproducible, idempotent, bulk where it counts.

`seed(scale)` is safe to run twice: users and teams are matched by their natural keys and
the registry and relationships are generated only when no stakeholder exists yet. A fixed
random seed makes every run produce the same dataset.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, Team, User
from core import readmodels

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

SCALES = {
    "small": {
        "extra_users": 0,
        "extra_teams": 0,
        "stakeholders": 40,
        "contacts": 80,
        "relationships": 30,
        # Enough that a year of history reads as one: every week of the dashboard's
        # 12-week heat map and most months of the value and satisfaction trends have some.
        "interactions": 400,
        "commitments": 40,
        "value_records": 100,
    },
    "large": {
        "extra_users": 95,  # with the five demo users: 100 users
        "extra_teams": 8,  # with the two demo teams: 10 teams
        "stakeholders": 20_000,
        "contacts": 50_000,
        "relationships": 30_000,
        "interactions": 500_000,
        "commitments": 20_000,
        "value_records": 40_000,
    },
    # Ten times large, to measure how the pages grow (`make bench` reports it once).
    "xlarge": {
        "extra_users": 995,  # 1,000 users
        "extra_teams": 98,  # 100 teams
        "stakeholders": 200_000,
        "contacts": 500_000,
        "relationships": 300_000,
        "interactions": 5_000_000,
        "commitments": 200_000,
        "value_records": 400_000,
    },
}
BATCH = 5000


@contextmanager
def stamped_by_hand(*models) -> Iterator[None]:
    """Let the seed set ``created_at``/``updated_at`` itself: a demo database whose rows
    were all created in the second it was seeded would make every "this week" figure read
    the whole table, which no real database does."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def moment(day: date, rng: random.Random, now: datetime | None = None) -> datetime:
    """A time during the working day of ``day`` (site time zone), and before ``now``: a row
    "created" later today is spread over the hours before now, not stamped all at once."""
    at = timezone.make_aware(
        datetime.combine(day, time(8 + rng.randint(0, 9), rng.randint(0, 59), rng.randint(0, 59)))
    )
    if now is not None and at > now:
        at = now - timedelta(seconds=rng.randint(60, 8 * 3600))
    return at


OUR_VALUES = [
    ("Integrity", 3, "We do what we say, and say what we do."),
    ("Long-term thinking", 2, "Relationships measured in years, through thick and thin."),
    ("Sustainability", 2, "Care for people and planet in every decision."),
    ("Openness", 1, "Share information freely and listen actively."),
    ("Community", 1, "Invest in the places where we work."),
]

NAME_PARTS = (
    ["Northwind", "Heron", "Bluebell", "Granite", "Meridian", "Oakridge", "Lumen", "Harbour",
     "Cedar", "Summit", "Riverside", "Beacon", "Kestrel", "Orchard", "Willow", "Atlas",
     "Juniper", "Falcon", "Silverline", "Evergreen"],
    ["Logistics", "Foundation", "Partners", "Council", "Health Trust", "Energy", "Foods",
     "Capital", "Housing", "Labs", "Trust", "Works", "Network", "Institute", "Mobility"],
)  # fmt: skip
SECTORS = ["Logistics", "Health", "Energy", "Finance", "Public sector", "Food", "Education"]
COUNTRIES = ["United Kingdom", "Ireland", "France", "Germany", "Netherlands", "Spain"]
FIRST = ["Amara", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas"]
LAST = ["Okafor", "Smith", "Dubois", "Patel", "Rossi", "Haddad", "Kim", "Novak", "Walsh"]
SUMMARIES = [
    "Quarterly catch-up on the joint programme",
    "Walked the site together and agreed next steps",
    "Call about delivery delays; they appreciated the heads-up",
    "Workshop on shared goals for next year",
    "Introduced their new operations lead",
    "Discussed pricing concerns openly",
]


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


@transaction.atomic
def seed_more_users(scale: str) -> None:
    """The large dataset's organisation: 100 users in 10 teams (idempotent by username)."""
    size = SCALES[scale]
    if not size["extra_users"]:
        return
    teams = list(Team.objects.filter(name__in=DEMO_TEAMS))
    teams += [
        Team.objects.get_or_create(name=f"Region {n:02d}")[0]
        for n in range(1, size["extra_teams"] + 1)
    ]
    existing = set(User.objects.values_list("username", flat=True))
    roles = [Role.MANAGER] * 60 + [Role.CONTRIBUTOR] * 27 + [Role.EXECUTIVE] * 6 + [Role.ADMIN] * 2
    rng = random.Random(7)
    from django.contrib.auth.hashers import make_password

    password = make_password(DEMO_PASSWORD)
    for n in range(size["extra_users"]):
        username = f"user{n + 1:03d}"
        if username in existing:
            continue
        user = User(
            username=username,
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            email=f"{username}@example.org",
            role=roles[n % len(roles)],
            password=password,
        )
        user.save()
        user.teams.set([teams[n % len(teams)]])


@transaction.atomic
def seed_registry(scale: str) -> bool:
    """Stakeholders, contacts, relationships and their records. False if already there."""
    from relationships.models import (
        Commitment,
        Interaction,
        Relationship,
        RelationshipType,
        Stage,
        StageTransition,
        ValueRecord,
    )
    from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value
    from stakeholders.services import stakeholders_refresh_value_fit

    if Stakeholder.objects.exists():
        return False
    size = SCALES[scale]
    rng = random.Random(2026)
    today = timezone.localdate()
    now = timezone.now()

    values = [
        Value.objects.get_or_create(name=name, defaults={"weight": w, "description": d})[0]
        for name, w, d in OUR_VALUES
    ]
    categories = list(Category.objects.all())
    types = list(RelationshipType.objects.all())
    managers = list(User.objects.filter(role=Role.MANAGER))
    teams = {t.name: t for t in Team.objects.all()}
    manager_team = {m.pk: m.teams.first() for m in managers}
    admin = User.objects.filter(role=Role.ADMIN).first()

    stakeholders = []
    used = set()
    for i in range(size["stakeholders"]):
        name = f"{rng.choice(NAME_PARTS[0])} {rng.choice(NAME_PARTS[1])}"
        if name in used:
            name = f"{name} {i}"
        used.add(name)
        slug = name.lower().replace(" ", "")
        registered = moment(today - timedelta(days=rng.randint(0, 1000)), rng)
        stakeholders.append(
            Stakeholder(
                created_at=registered,
                updated_at=registered,
                name=name,
                normalised_name=name.casefold(),
                category=rng.choice(categories),
                sector=rng.choice(SECTORS),
                country=rng.choice(COUNTRIES),
                website=f"https://{slug}.example",
                email=f"hello@{slug}.example",
                email_domain=f"{slug}.example",
                description=f"{name} works in {rng.choice(SECTORS).lower()}.",
                power=rng.randint(1, 5),
                interest=rng.randint(1, 5),
                created_by=admin,
            )
        )
    with stamped_by_hand(Stakeholder):
        stakeholders = Stakeholder.objects.bulk_create(stakeholders, batch_size=BATCH)
    through = Stakeholder.values.through
    through.objects.bulk_create(
        [
            through(stakeholder_id=s.pk, value_id=v.pk)
            for s in stakeholders
            for v in rng.sample(values, rng.randint(0, len(values)))
        ],
        batch_size=BATCH,
    )
    stakeholders_refresh_value_fit()
    Assessment.objects.bulk_create(
        [
            Assessment(
                stakeholder=s,
                assessed_on=today - timedelta(days=rng.randint(0, 400)),
                assessed_by=admin,
                power=s.power,
                interest=s.interest,
                note="Initial mapping",
            )
            for s in stakeholders
        ],
        batch_size=BATCH,
    )
    contacts = []
    for i in range(size["contacts"]):
        s = stakeholders[i % len(stakeholders)]
        contacts.append(
            Contact(
                created_at=s.created_at,
                updated_at=s.created_at,
                stakeholder=s,
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                role=rng.choice(["CEO", "Head of Partnerships", "Buyer", "Programme lead"]),
                email=f"person{i}@{s.email_domain}",
                email_domain=s.email_domain,
                phone=f"+44 20 7946 {rng.randint(1000, 9999)}",
                created_by=admin,
            )
        )
    with stamped_by_hand(Contact):
        Contact.objects.bulk_create(contacts, batch_size=BATCH)
    del contacts

    stage_weights = [
        (Stage.IDENTIFY, 15),
        (Stage.PRESENT, 15),
        (Stage.PILOT, 15),
        (Stage.BUILD, 35),
        (Stage.REVIEW, 10),
        (Stage.ENDED, 10),
    ]
    stages = [s for s, _ in stage_weights]
    weights = [w for _, w in stage_weights]
    relationships = []
    for i in range(size["relationships"]):
        stage = rng.choices(stages, weights)[0]
        manager = rng.choice(managers) if stage != Stage.IDENTIFY or rng.random() < 0.5 else None
        team = manager_team.get(manager.pk) if manager else rng.choice(list(teams.values()))
        started = today - timedelta(days=rng.randint(30, 900))
        relationship_type = rng.choice(types)
        opened = moment(
            started - timedelta(days=rng.randint(0, 30))
            if stage != Stage.IDENTIFY
            else today - timedelta(days=rng.randint(0, 200)),
            rng,
        )
        relationships.append(
            Relationship(
                created_at=opened,
                updated_at=opened,
                stakeholder=stakeholders[i % len(stakeholders)],
                type=relationship_type if stage != Stage.IDENTIFY or rng.random() < 0.5 else None,
                stage=stage,
                manager=manager,
                team=team,
                confidential=rng.random() < 0.15,
                is_key=rng.random() < 0.2,
                purpose="Work together on shared goals that serve both organisations.",
                started_on=None if stage == Stage.IDENTIFY else started,
                ended_on=today - timedelta(days=rng.randint(1, 200))
                if stage == Stage.ENDED
                else None,
                end_reason="It has not delivered value to either side."
                if stage == Stage.ENDED
                else "",
                partnering_session_on=started + timedelta(days=10)
                if stage not in (Stage.IDENTIFY, Stage.PRESENT)
                else None,
                partnering_session_notes="Agreed how the relationship rolls out for both sides."
                if stage not in (Stage.IDENTIFY, Stage.PRESENT)
                else "",
                next_review_on=today + timedelta(days=rng.randint(-20, 90))
                if stage in (Stage.BUILD, Stage.REVIEW)
                else None,
                created_by=manager or admin,
            )
        )
    with stamped_by_hand(Relationship):
        relationships = Relationship.objects.bulk_create(relationships, batch_size=BATCH)

    order = [Stage.IDENTIFY, Stage.PRESENT, Stage.PILOT, Stage.BUILD, Stage.REVIEW]
    transitions = []
    for rel in relationships:
        path = order[: order.index(rel.stage) + 1] if rel.stage != Stage.ENDED else order[:4]
        for before, after in zip(path, path[1:], strict=False):
            transitions.append(
                StageTransition(relationship=rel, from_stage=before, to_stage=after, by=rel.manager)
            )
        if rel.stage == Stage.ENDED:
            transitions.append(
                StageTransition(
                    relationship=rel,
                    from_stage=Stage.BUILD,
                    to_stage=Stage.ENDED,
                    by=rel.manager,
                    note=rel.end_reason,
                )
            )
    StageTransition.objects.bulk_create(transitions, batch_size=BATCH)
    # ``at`` is stamped on insert (auto_now_add): spread each relationship's moves over its
    # life so far instead, so its timeline reads in the order things happened.
    moves: dict[int, list[StageTransition]] = {}
    for transition in transitions:
        moves.setdefault(transition.relationship_id, []).append(transition)
    started = {rel.pk: rel for rel in relationships}
    for rel_id, path in moves.items():
        rel = started[rel_id]
        first = rel.started_on or today - timedelta(days=365)
        last = rel.ended_on or today
        span = max((last - first).days, len(path))
        for step, transition in enumerate(path, start=1):
            day = first + timedelta(days=span * step // (len(path) + 1))
            transition.at = timezone.make_aware(datetime.combine(day, time(10, step)))
    StageTransition.objects.bulk_update(transitions, ["at"], batch_size=BATCH)
    del transitions, moves

    engaged = [r for r in relationships if r.stage != Stage.IDENTIFY]
    built = [r for r in engaged if r.stage in (Stage.BUILD, Stage.REVIEW, Stage.ENDED)]
    # Contributors log interactions too, on their team's relationships (as they may). Their
    # own random stream, so the rest of the dataset is the same as without them.
    by_team: dict[int, list[User]] = {}
    for user in User.objects.filter(role=Role.CONTRIBUTOR).prefetch_related("teams"):
        for user_team in user.teams.all():
            by_team.setdefault(user_team.pk, []).append(user)
    author_rng = random.Random(11)

    def author(rel, key: bool):
        teammates = by_team.get(rel.team_id, [])
        if key or not teammates or author_rng.random() < 0.65:
            return rel.manager
        return author_rng.choice(teammates)

    def interaction(rel, key=False):
        start = rel.started_on or today - timedelta(days=365)
        # Spread over the relationship's life so far, recent contact a little likelier (twice
        # as likely today as at the start, falling evenly: no pile-up in the last week).
        age = (today - start).days * rng.triangular(0, 1, 0)
        occurred_on = today - timedelta(days=int(age))
        return Interaction(
            relationship=rel,
            # Logged the day it happened, or a day or two later (never in the future).
            created_at=moment(occurred_on + timedelta(days=rng.choice((0, 0, 0, 1, 2))), rng, now),
            occurred_on=occurred_on,
            channel=rng.choice(["meeting", "call", "email", "event", "site_visit"]),
            summary=rng.choice(SUMMARIES),
            sentiment=rng.choice([-2, -1, 0, 1, 1, 2, 2]),
            is_key_experience=key,
            outcome=rng.choice(["success", "learning", "disappointment"]) if key else "",
            created_by=author(rel, key),
        )

    # Built relationships passed the pilot, so each has a key experience with an outcome.
    batch = [interaction(rel, key=True) for rel in built]
    for _ in range(max(0, size["interactions"] - len(batch))):
        batch.append(interaction(rng.choice(engaged)))
        if len(batch) >= 50_000:
            with stamped_by_hand(Interaction):
                Interaction.objects.bulk_create(batch, batch_size=BATCH)
            batch = []
    with stamped_by_hand(Interaction):
        Interaction.objects.bulk_create(batch, batch_size=BATCH)

    descriptions = [
        "Send the proposal",
        "Share usage data",
        "Introduce the CFO",
        "Confirm the pilot budget",
        "Return the signed agreement",
    ]
    commitments = []
    for _ in range(size["commitments"]):
        rel = rng.choice(engaged)
        due_on = today + timedelta(days=rng.randint(-15, 60))
        commitments.append(
            Commitment(
                created_at=moment(due_on - timedelta(days=rng.randint(7, 60)), rng, now),
                relationship=rel,
                direction=rng.choice(["ours", "theirs"]),
                description=rng.choice(descriptions),
                due_on=due_on,
                owner=rel.manager,
                status=rng.choice(["open", "open", "kept", "broken"]),
                created_by=rel.manager,
            )
        )
    with stamped_by_hand(Commitment):
        Commitment.objects.bulk_create(commitments, batch_size=BATCH)
    del commitments

    value_records = []
    for _ in range(size["value_records"]):
        rel = rng.choice(built)
        kind = rng.choice(["revenue", "cost_saving", "volunteer_hours", "qualitative"])
        quantitative = kind != "qualitative"
        recorded_on = today - timedelta(days=rng.randint(0, 365))
        value_records.append(
            ValueRecord(
                created_at=moment(recorded_on, rng, now),
                relationship=rel,
                recorded_on=recorded_on,
                kind=kind,
                amount=Decimal(rng.randint(5, 500) * 100) if quantitative else None,
                unit=("hours" if kind == "volunteer_hours" else "GBP") if quantitative else "",
                note="" if quantitative else "Joint press coverage raised our profile.",
                created_by=rel.manager,
            )
        )
    with stamped_by_hand(ValueRecord):
        ValueRecord.objects.bulk_create(value_records, batch_size=BATCH)
    del value_records
    return True


def seed(scale: str = "small") -> list[DemoUser]:
    from plans import demo as plans_demo
    from relationships.services import relationships_refresh_health_all
    from reviews import demo as reviews_demo

    users = seed_users()
    seed_more_users(scale)
    # The read models are counted once at the end, not updated for each of the rows.
    with readmodels.bulk_loading():
        fresh = seed_registry(scale)
        plans_demo.seed(scale, timezone.localdate())
        reviews_demo.seed(scale, timezone.localdate())
        if fresh:
            relationships_refresh_health_all()  # now that review ratings feed it too
        if connection.vendor == "postgresql":
            # Fresh statistics after bulk loading, so the planner sees the real row counts.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    return users

"""One world of records for the permission matrix and the canary crawl, built once per module.

Objects come in four variants, each a relationship with every kind of record hanging off it:

- ``own``: team A's, managed by manager_a, open;
- ``same``: team A's, managed by a teammate of manager_a (manager_a2), *confidential* — so the
  confidential rule is exercised from both sides: team A sees its own confidential work,
  team B must not;
- ``other``: team B's, managed by manager_b, open;
- ``secret``: team B's, managed by manager_b, confidential.

The two confidential variants carry canaries (distinctive strings) in every text field of
their relationship-scoped records; the shared registry (stakeholders, contacts) never does.

The world is created inside one transaction that is rolled back when the module ends; each
test runs in a savepoint inside it, so writes made by a test vanish with the test.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.client import ClientHandler
from django.utils import timezone

from accounts.models import ApiToken, Role, User
from accounts.tokens import token_create
from devmail.models import SentEmail
from events.backfill import events_backfill
from events.models import Event
from notifications.models import Notification, NotificationPreference
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from relationships.models import (
    Commitment,
    Interaction,
    Relationship,
    Stage,
    StageTransition,
    ValueRecord,
)
from reviews.models import FeedbackRequest, FeedbackResponse, Review, hash_nonce
from reviews.services import feedback_token
from stakeholders.models import Assessment, Value
from tests.factories import (
    ContactFactory,
    RelationshipFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint

VARIANTS = ("own", "same", "other", "secret")
# manager_a's read-only API token: on the API it reads as manager_a, on pages it is nobody.
ROLES = (
    "manager_a",
    "manager_b",
    "contributor_a",
    "executive",
    "admin",
    "token",
    "anonymous",
)
SIGNED_IN = ("manager_a", "manager_b", "contributor_a", "executive", "admin")

# Canaries of the two confidential variants. Every seeded string starts with one of these.
CANARIES = {"same": "CANARY-a9c1", "secret": "CANARY-7f3a"}

# Who may see each variant's relationship and everything recorded on it (the ground truth the
# tests hold the code to, written out rather than computed by accounts.permissions).
SEES = {
    "manager_a": {"own": True, "same": True, "other": True, "secret": False},
    "manager_b": {"own": True, "same": False, "other": True, "secret": True},
    "contributor_a": {"own": True, "same": True, "other": True, "secret": False},
    "executive": dict.fromkeys(VARIANTS, True),
    "admin": dict.fromkeys(VARIANTS, True),
    "token": {"own": True, "same": True, "other": True, "secret": False},
    "anonymous": dict.fromkeys(VARIANTS, False),
}
# Edit it, move it through the lifecycle, review it: its manager, its team's managers, admins.
CHANGES = {
    "manager_a": {"own": True, "same": True, "other": False, "secret": False},
    "manager_b": {"own": False, "same": False, "other": True, "secret": True},
    "admin": dict.fromkeys(VARIANTS, True),
}
# Log interactions, commitments and value: also its team's contributors.
CONTRIBUTES = {
    **CHANGES,
    "contributor_a": {"own": True, "same": True, "other": False, "secret": False},
}


def sees(role: str, variant: str) -> bool:
    return SEES[role][variant]


def changes(role: str, variant: str) -> bool:
    return CHANGES.get(role, {}).get(variant, False)


def contributes(role: str, variant: str) -> bool:
    return CONTRIBUTES.get(role, {}).get(variant, False)


def canary(variant: str, name: str) -> str:
    """The seeded text of field ``name`` in ``variant``; plain text elsewhere."""
    if variant in CANARIES:
        return f"{CANARIES[variant]}-{name}"
    return f"{variant} {name}"


@dataclass
class Slice:
    """A relationship and every record on it."""

    relationship: object
    stakeholder: object
    contact: object
    interaction: object
    follow_up: object  # an open, overdue commitment of ours
    value_record: object
    transition: object
    review: object  # scheduled (open)
    completed_review: object
    feedback_request: object  # answered
    feedback_response: object
    pending_request: object  # sent, not answered: its link works
    feedback_link: str
    initiative: object


@dataclass
class World:
    users: dict[str, User]
    slices: dict[str, Slice]
    ended_secret: object  # team B's confidential relationship ended in the period
    raw_tokens: dict[str, str]  # role → Bearer token (write; "token" is manager_a's read-only)
    sessions: dict[str, str]  # role → session key
    notifications: dict[str, Notification]  # "own": manager_a's, "other": manager_b's
    api_tokens: dict[str, ApiToken]  # "own": manager_a's, "other": manager_b's
    objective: Objective
    child_objective: Objective
    plan: Plan
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery
    extra: dict = field(default_factory=dict)

    def rel(self, variant: str):
        return self.slices[variant].relationship


def _relationship_slice(variant, *, team, manager, confidential, plan, objective, teammates):
    today = timezone.localdate()
    text = lambda name: canary(variant, name)  # noqa: E731
    stakeholder = StakeholderFactory(name=f"Org {variant}", power=3, interest=4)
    contact = ContactFactory(stakeholder=stakeholder, email=f"{variant}@partner.example")
    relationship = RelationshipFactory(
        stakeholder=stakeholder,
        team=team,
        manager=manager,
        confidential=confidential,
        stage=Stage.PRESENT,
        started_on=today - timedelta(days=400),
        purpose=text("purpose"),
        partnering_session_notes=text("partnering-notes"),
        manager_rating=4,
        manager_rating_note=text("rating-note"),
        manager_rating_on=today,
        health_score={"own": 80, "same": 55, "other": 30, "secret": 75}[variant],
        last_interaction_on=today - timedelta(days=3),
        next_review_on=today + timedelta(days=3),
        created_by=manager,
    )
    interaction = Interaction.objects.create(
        relationship=relationship,
        occurred_on=today - timedelta(days=3),
        channel="meeting",
        summary=text("interaction-summary"),
        sentiment=1,
        created_by=manager,
    )
    interaction.participant_users.set(teammates)
    follow_up = Commitment.objects.create(
        relationship=relationship,
        direction=Commitment.Direction.OURS,
        description=text("commitment"),
        due_on=today - timedelta(days=2),
        owner=manager,
        source_interaction=interaction,
        created_by=manager,
    )
    value_record = ValueRecord.objects.create(
        relationship=relationship,
        recorded_on=today - timedelta(days=5),
        kind=ValueRecord.Kind.REVENUE,
        amount=Decimal({"own": 100, "same": 200, "other": 400, "secret": 800}[variant]),
        unit="GBP",
        note=text("value-note"),
        created_by=manager,
    )
    # A unit nobody else uses: if a confidential record leaks into a dashboard's per-unit
    # totals, its unit name shows it (units are at most 20 characters).
    ValueRecord.objects.create(
        relationship=relationship,
        recorded_on=today - timedelta(days=6),
        kind=ValueRecord.Kind.IN_KIND,
        amount=Decimal("7"),
        unit=f"{CANARIES[variant]}-u" if variant in CANARIES else "hours",
        note=text("in-kind-note"),
        created_by=manager,
    )
    transition = StageTransition.objects.create(
        relationship=relationship,
        from_stage=Stage.IDENTIFY,
        to_stage=Stage.PRESENT,
        by=manager,
        note=text("transition-note"),
    )
    # Opening a relationship schedules its review (reviews' signal handler): make it overdue.
    review, _ = Review.objects.update_or_create(
        relationship=relationship,
        status=Review.Status.SCHEDULED,
        defaults={"due_on": today - timedelta(days=1)},
    )
    completed_review = Review.objects.create(
        relationship=relationship,
        status=Review.Status.COMPLETED,
        due_on=today - timedelta(days=30),
        trust=4,
        communication=4,
        value_to_us=3,
        value_to_them=4,
        overall=4,
        went_well=text("went-well"),
        went_badly=text("went-badly"),
        decision=Review.Decision.CHANGE,
        decision_note=text("decision-note"),
        completed_on=today - timedelta(days=20),
        completed_at=timezone.now() - timedelta(days=20),
        completed_by=manager,
    )
    feedback_request = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        message=text("feedback-message"),
        sent_by=manager,
        expires_at=timezone.now() + timedelta(days=10),
        sent_at=timezone.now() - timedelta(days=4),
        answered_at=timezone.now() - timedelta(days=2),
    )
    feedback_response = FeedbackResponse.objects.create(
        request=feedback_request,
        relationship=relationship,
        satisfaction={"own": 9, "same": 7, "other": 5, "secret": 10}[variant],
        responsiveness=4,
        communication=4,
        value=4,
        comment=text("feedback-comment"),
    )
    nonce = secrets.token_urlsafe(8)
    pending_request = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        message=text("pending-message"),
        sent_by=manager,
        expires_at=timezone.now() + timedelta(days=10),
        sent_at=timezone.now() - timedelta(days=1),
        nonce_hash=hash_nonce(nonce),
    )
    initiative = Initiative.objects.create(
        plan=plan,
        title=f"Initiative {variant}",
        objective=objective,
        owner=manager,
        currency="GBP",
        planned_hours=Decimal("10"),
        created_by=manager,
    )
    initiative.relationships.set([relationship])
    return Slice(
        relationship=relationship,
        stakeholder=stakeholder,
        contact=contact,
        interaction=interaction,
        follow_up=follow_up,
        value_record=value_record,
        transition=transition,
        review=review,
        completed_review=completed_review,
        feedback_request=feedback_request,
        feedback_response=feedback_response,
        pending_request=pending_request,
        feedback_link=feedback_token(pending_request.pk, nonce),
        initiative=initiative,
    )


def build_world() -> World:
    today = timezone.localdate()
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    users = {
        "manager_a": UserFactory(username="manager_a", role=Role.MANAGER, teams=[team_a]),
        "manager_a2": UserFactory(username="manager_a2", role=Role.MANAGER, teams=[team_a]),
        "manager_b": UserFactory(username="manager_b", role=Role.MANAGER, teams=[team_b]),
        "contributor_a": UserFactory(
            username="contributor_a", role=Role.CONTRIBUTOR, teams=[team_a]
        ),
        "executive": UserFactory(username="exec", role=Role.EXECUTIVE),
        "admin": UserFactory(username="boss", role=Role.ADMIN),
    }
    level = ObjectiveLevel.objects.order_by("position").first()
    objective = Objective.objects.create(
        level=level, title="Grow partnerships", owner=users["executive"], status="active"
    )
    child_objective = Objective.objects.create(
        parent=objective,
        level=ObjectiveLevel.objects.order_by("position")[1],
        title="More pilots",
        owner=users["manager_a"],
        status="active",
        kpi_name="Pilots",
        kpi_baseline=Decimal("0"),
        kpi_target=Decimal("10"),
    )
    plan = Plan.objects.create(
        title="Partnering plan", period="FY2027", owner=users["executive"], currency="GBP"
    )
    plan.objectives.set([objective, child_objective])

    team_of = {"own": team_a, "same": team_a, "other": team_b, "secret": team_b}
    manager_of = {
        "own": users["manager_a"],
        "same": users["manager_a2"],
        "other": users["manager_b"],
        "secret": users["manager_b"],
    }
    slices = {}
    for variant in VARIANTS:
        team = team_of[variant]
        slices[variant] = _relationship_slice(
            variant,
            team=team,
            manager=manager_of[variant],
            confidential=variant in CANARIES,
            plan=plan,
            objective=child_objective,
            teammates=[u for u in users.values() if team in u.teams.all()],
        )
    # Ended in the period, with its reason: the dashboard lists those.
    ended_secret = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Org ended"),
        team=team_b,
        manager=users["manager_b"],
        confidential=True,
        stage=Stage.ENDED,
        started_on=today - timedelta(days=300),
        ended_on=today - timedelta(days=2),
        end_reason=canary("secret", "end-reason"),
        purpose=canary("secret", "ended-purpose"),
    )

    notifications = {
        "own": Notification.objects.create(
            recipient=users["manager_a"],
            kind="note",
            title="Your review is due",
            body="About your own relationship.",
            url=f"/relationships/{slices['own'].relationship.pk}/",
            created_at=timezone.now(),
        ),
        "other": Notification.objects.create(
            recipient=users["manager_b"],
            kind="note",
            title=canary("secret", "notification-title"),
            body=canary("secret", "notification-body"),
            url=f"/relationships/{slices['secret'].relationship.pk}/",
            created_at=timezone.now(),
        ),
    }
    raw_tokens, api_tokens = {}, {}
    for role in SIGNED_IN:
        token, raw = token_create(user=users[role], name=f"{role} write", scope="write")
        raw_tokens[role] = raw
        if role in ("manager_a", "manager_b"):
            api_tokens["own" if role == "manager_a" else "other"] = token
    _, raw_tokens["token"] = token_create(user=users["manager_a"], name="read", scope="read")

    sessions = {}
    for role in SIGNED_IN:
        client = Client()
        client.force_login(users[role])
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value

    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.org/rapport",
        secret="s" * 40,
        event_types=["relationship.created"],
        created_by=users["admin"],
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="relationship.created",
        payload={"id": 1},
        status=WebhookDelivery.Status.FAILED,
        attempts=3,
    )
    extra = {
        # Registry records: shared by design, readable by everyone signed in.
        "assessment": Assessment.objects.create(
            stakeholder=slices["other"].stakeholder,
            assessed_on=today,
            assessed_by=users["manager_b"],
            power=3,
            interest=4,
        ),
        "value": Value.objects.create(name="Openness", weight=2),
        "duplicate": StakeholderFactory(name="Org own (duplicate)"),
        # An e-mail kept in development (devmail): admins only.
        "sent_email": SentEmail.objects.create(
            from_email="rapport@localhost", to="ann@example.org", subject="Hello", source="."
        ),
    }
    # The rows above are written around the services: give them their events (as
    # seed_demo does), so the feeds and /api/v1/events/ carry every variant's canaries.
    events_backfill()
    extra["events"] = {
        variant: Event.objects.get(
            verb="interaction.logged",
            subject_type="relationships.interaction",
            subject_id=piece.interaction.pk,
        )
        for variant, piece in slices.items()
    }
    return World(
        extra=extra,
        users=users,
        slices=slices,
        ended_secret=ended_secret,
        raw_tokens=raw_tokens,
        sessions=sessions,
        notifications=notifications,
        api_tokens=api_tokens,
        objective=objective,
        child_objective=child_objective,
        plan=plan,
        endpoint=endpoint,
        delivery=delivery,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, created once per module and rolled back after its last test."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CELERY_TASK_ALWAYS_EAGER=True,
    )
    with django_db_blocker.unblock(), fast:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- Did a request change anything? -------------------------------------------------------------

# Tables a refused request may legitimately write: sessions and the login audit trail
# (any request reaching a login page), and the security log, which records refusals.
_NOISE_TABLES = ("django_session", "axes_", "security_securityevent")
_TABLES: list[str] = []


def fingerprint() -> tuple:
    """The state a write could change: every table's row count (history tables included, so
    any tracked update counts) plus the fields of untracked rows writes touch."""
    if not _TABLES:
        _TABLES.extend(
            sorted(
                t for t in connection.introspection.table_names() if not t.startswith(_NOISE_TABLES)
            )
        )
    tables = _TABLES
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables))
        counts = cursor.fetchone()
    untracked = (
        list(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)),
        list(ApiToken.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True)),
        list(NotificationPreference.objects.values_list("user_id", "email_enabled")),
        list(WebhookEndpoint.objects.values_list("pk", "secret", "url", "active")),
        hashlib.sha256(
            repr(list(User.objects.values_list("pk", "password", "first_name", "email"))).encode()
        ).hexdigest(),
        list(Relationship.objects.values_list("pk", "version", "stage", "manager_rating")),
    )
    return dict(zip(tables, counts, strict=True)), untracked


def fingerprint_change(before: tuple, after: tuple) -> str:
    counts = {t: (before[0][t], n) for t, n in after[0].items() if before[0].get(t) != n}
    return f"rows changed: {counts}" if counts else "untracked fields changed"


_HANDLER: list[ClientHandler] = []


def client_for(world: World, role: str, *, api: bool = False) -> Client:
    """A client acting as ``role``: a session on pages, a Bearer token on the API.

    The read-only token is sent on pages too (it must count for nothing there). Clients
    share one request handler: a new handler loads the middleware again, and WhiteNoise's
    scan of the static files would then dominate the run."""
    client = Client()
    if not _HANDLER:
        _HANDLER.append(client.handler)
    client.handler = _HANDLER[0]
    if role == "anonymous":
        return client
    if api or role == "token":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.raw_tokens[role]}"
        return client
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client

"""Canary crawl: distinctive strings seeded into confidential records must show only to those
who may see them, on every page, fragment, export and API list; dashboard totals must be the
sum of what the viewer may see.

The world (tests/security/conftest.py) seeds a canary into every text field of the two
confidential relationships' records: team A's ("same", CANARY-a9c1-…) and team B's
("secret", CANARY-7f3a-…). The crawl then requests, as every role, every readable page
route of the permission matrix for every object (list pages also searched for the canary,
HTMX fragments too), every CSV export and every API read (lists followed page by page),
and records each canary field found where the role may not see it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from notifications.models import Notification
from relationships.models import ACTIVE_STAGES, Commitment, Relationship, Stage, ValueRecord
from reviews.models import FeedbackRequest, FeedbackResponse, Review, hash_nonce
from reviews.reminders import reminders_deliver, reminders_scan
from reviews.services import feedback_response_submit, feedback_token
from tests.security import matrix
from tests.security.conftest import CANARIES, ROLES, VARIANTS, canary, client_for, sees
from tests.security.test_matrix import api_operations

pytestmark = pytest.mark.django_db

CANARY_FIELD = re.compile(r"CANARY-[0-9a-f]{4}-[a-z0-9-]+")


def allowed(role: str, found: str) -> bool:
    """May ``role`` see the seeded field ``found`` (e.g. "CANARY-7f3a-purpose")?"""
    variant = next(v for v, prefix in CANARIES.items() if found.startswith(prefix))
    if "-notification-" in found:
        # Notifications are personal: only their recipient reads them.
        return role == "manager_b"
    return sees(role, variant)


@pytest.fixture(scope="module")
def seeded(world, django_db_blocker):
    """The world, plus what the notification paths make of it: the reminder run's in-app
    reminders for overdue reviews and commitments, including a commitment whose owner has
    since moved to team A (owners are chosen from the relationship's team; people change
    teams), and a stakeholder's answer to a request whose sender has moved too."""
    with django_db_blocker.unblock():
        secret = world.rel("secret")
        world.extra["moved_owner_commitment"] = Commitment.objects.create(
            relationship=secret,
            direction=Commitment.Direction.OURS,
            description=canary("secret", "moved-owner-commitment"),
            due_on=timezone.localdate() - timedelta(days=3),
            owner=world.users["contributor_a"],
            created_by=world.users["manager_b"],
        )
        # A feedback request sent by someone who has since moved to team A (manager_a),
        # answered now: the answer must not be brought to them.
        nonce = "moved-sender"
        moved_request = FeedbackRequest.objects.create(
            relationship=secret,
            contact=world.slices["secret"].contact,
            sent_by=world.users["manager_a"],
            expires_at=timezone.now() + timedelta(days=5),
            sent_at=timezone.now(),
            nonce_hash=hash_nonce(nonce),
        )
        feedback_response_submit(
            token=feedback_token(moved_request.pk, nonce),
            satisfaction=3,
            responsiveness=2,
            communication=2,
            value=2,
            comment=canary("secret", "late-feedback-comment"),
        )
        reminders_scan()
        reminders_deliver()
    return world


# --- What the crawl requests -------------------------------------------------------------------


def page_urls(world) -> list[tuple[str, dict]]:
    """(url, headers) for every readable page of every object, list pages also filtered."""
    urls: list[tuple[str, dict]] = []
    team_b = world.rel("secret").team_id
    for row in matrix.PAGES:
        if row.get is None or row.route in ("logout",):
            continue
        variants = matrix.KINDS[row.kind][0] if row.kind else ("-",)
        for variant in variants:
            if row.kind == "feedback_link" and variant == "valid":
                continue  # the link is the stakeholder's own capability, held by none of us
            args = []
            if row.kind:
                value = matrix.KINDS[row.kind][1](world, variant)
                args = list(value) if isinstance(value, tuple) else [value]
            url = reverse(row.route, args=args)
            queries = [""]
            if not row.kind:
                queries += [f"?q={prefix}" for prefix in CANARIES.values()]
                queries += [f"?team={team_b}", "?stage=present", "?print=1"]
            for query in queries:
                urls.append((url + query, {}))
                if row.htmx:
                    urls.append((url + query, {"HX-Request": "true"}))
    urls += [(f"{reverse('search')}?q={word}", {}) for word in ("Org", "moved", "CANARY")]
    # The palette's "Log interaction…" mode lists relationships by a rule of its own.
    urls += [
        (f"{reverse('search_palette')}?mode=log&q={word}", {})
        for word in ("Org", "CANARY", *CANARIES.values())
    ]
    return urls


def api_reads(world) -> list[str]:
    """Every API read: lists in full (the crawl follows ``next``), details of every object."""
    urls = []
    for row in matrix.API:
        method, path = row.operation.split(" ", 1)
        if method != "GET":
            continue
        if "{id}" not in path:
            urls.append(f"{path}?page_size=200")
            urls += [f"{path}?search={prefix}" for prefix in CANARIES.values()]
            continue
        for variant in matrix.KINDS[row.kind][0]:
            urls.append(path.replace("{id}", str(matrix.KINDS[row.kind][1](world, variant))))
    return urls


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def crawl(world, role: str) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Every canary field the role was shown, with where; and how many pages and API
    responses it read."""
    seen: dict[str, set[str]] = defaultdict(set)
    responses = {"pages": 0, "api": 0}

    def read(client, url, headers=None):
        cache.clear()  # rate limits and throttles are tested elsewhere
        response = client.get(url, headers=headers or {})
        responses["api" if "/api/v1/" in url else "pages"] += 1
        text = _text(response)
        for found in set(CANARY_FIELD.findall(text)):
            seen[found].add(url)
        return response, text

    pages = client_for(world, role)
    for url, headers in page_urls(world):
        read(pages, url, headers)
    api = client_for(world, role, api=True)
    for url in api_reads(world):
        response, _ = read(api, url)
        while response.status_code == 200 and isinstance(body := response.json(), dict):
            next_url = body.get("next")
            if not next_url:
                break
            response, _ = read(api, next_url)
    return seen, responses


def test_the_crawl_covers_every_api_read():
    """A new list or detail operation joins the crawl through its matrix row."""
    gets = {op for op in api_operations() if op.startswith("GET ")}
    assert gets == {row.operation for row in matrix.API if row.operation.startswith("GET ")}


@pytest.mark.parametrize("role", ROLES)
def test_canaries_show_only_to_those_who_may_see_them(seeded, role):
    seen, responses = crawl(seeded, role)
    leaks = {found: sorted(urls)[:5] for found, urls in seen.items() if not allowed(role, found)}
    print(f"{role}: crawled {responses}, {len(seen)} canary fields seen")
    assert not leaks, f"{role} was shown {len(leaks)} canary field(s) it may not see: {leaks}"

    # The crawl reaches every kind of record: a role that may see a confidential
    # relationship is shown each seeded field somewhere (so a leak could not hide in a
    # place the crawl never reads).
    expected = {
        f"{prefix}-{name}"
        for variant, prefix in CANARIES.items()
        if sees(role, variant)
        for name in SEEDED_FIELDS
    }
    if sees(role, "secret"):
        expected |= {canary("secret", "end-reason"), canary("secret", "ended-purpose")}
    missing = sorted(expected - set(seen))
    assert not missing, f"{role} never saw {missing}"


def test_news_of_a_confidential_record_goes_to_its_manager_not_to_those_who_moved_away(seeded):
    """The overdue commitment's owner and the feedback request's sender have both left
    team B: its manager hears instead (reviews.reminders, reviews.services)."""
    inbox = {
        role: " ".join(
            f"{n.title} {n.body}" for n in Notification.objects.filter(recipient=seeded.users[role])
        )
        for role in ("manager_a", "contributor_a", "manager_b")
    }
    for moved in ("manager_a", "contributor_a"):
        assert CANARIES["secret"] not in inbox[moved]
    assert canary("secret", "moved-owner-commitment") in inbox["manager_b"]
    assert canary("secret", "late-feedback-comment") in inbox["manager_b"]


# Every field the world seeds in a confidential variant (notifications and the moved owner's
# commitment aside: they belong to one person's inbox).
SEEDED_FIELDS = (
    "purpose",
    "partnering-notes",
    "rating-note",
    "interaction-summary",
    "commitment",
    "value-note",
    "in-kind-note",
    "transition-note",
    "went-well",
    "went-badly",
    "decision-note",
    "feedback-message",
    "feedback-comment",
    "pending-message",
)


# --- Dashboard totals --------------------------------------------------------------------------


def _visible_relationships(world, role: str) -> list[Relationship]:
    """From the ground truth of the world, not from accounts.permissions."""
    variants = [v for v in VARIANTS if sees(role, v)]
    pks = [world.rel(v).pk for v in variants]
    if sees(role, "secret"):
        pks.append(world.ended_secret.pk)
    return list(Relationship.objects.filter(pk__in=pks))


@pytest.mark.parametrize("role", ["manager_a", "contributor_a", "manager_b", "executive"])
def test_dashboard_totals_are_the_sum_of_what_the_viewer_may_see(seeded, role):
    user = seeded.users[role]
    visible = _visible_relationships(seeded, role)
    # The ground truth and the permission module agree on what this is.
    scoped = Relationship.objects.filter(permissions.relationship_scope(user))
    assert {r.pk for r in visible} == set(scoped.values_list("pk", flat=True))

    response = client_for(seeded, role, api=True).get("/api/v1/dashboard/")
    assert response.status_code == 200
    figures = response.json()
    start, end = figures["filters"]["start"], figures["filters"]["end"]
    active = [r for r in visible if r.stage in ACTIVE_STAGES]

    portfolio = figures["portfolio"]
    assert portfolio["active"] == len(active)
    assert {s["stage"]: s["count"] for s in portfolio["stages"]} == {
        stage: sum(r.stage == stage for r in visible) for stage in Stage.values
    }
    assert portfolio["health"]["bands"] == {
        band: sum(r.health_band == band for r in active) for band in ("good", "fair", "poor")
    }
    assert [r["id"] for r in figures["ended"]["rows"]] == [
        r.pk for r in visible if r.ended_on and start <= r.ended_on.isoformat() <= end
    ]

    records = ValueRecord.objects.filter(
        relationship__in=visible, recorded_on__gte=start, recorded_on__lte=end
    ).exclude(kind=ValueRecord.Kind.QUALITATIVE)
    expected_units: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        expected_units[record.unit] += record.amount
    assert {u["unit"]: Decimal(str(u["current"])) for u in figures["value"]["units"]} == dict(
        expected_units
    )

    today = timezone.localdate()
    overdue = Review.objects.filter(
        relationship__in=active, status=Review.Status.SCHEDULED, due_on__lt=today
    ).count()
    assert figures["reviews"]["overdue"] == overdue
    assert figures["satisfaction"]["feedback_responses"] == (
        FeedbackResponse.objects.filter(relationship__in=visible).count()
    )

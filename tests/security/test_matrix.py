"""Every page route and API operation × role × object × read/write, from tests/security/matrix.py.

The key invariant: a confidential relationship of another team, and every record on it,
answers 404 everywhere — pages, HTMX fragments and the API — and a refused write changes
nothing. A route or operation without a row in the table fails the first test, as does a
row whose route no longer exists.

Each test runs one row through every role and object variant and reports every cell that
answered differently, so one run shows the whole picture.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, QuerySet
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django_filters.filters import QuerySetRequestMixin
from django_filters.utils import get_model_field
from drf_spectacular.generators import SchemaGenerator

from accounts import permissions
from tests.security import matrix
from tests.security.conftest import (
    ROLES,
    SIGNED_IN,
    VARIANTS,
    client_for,
    fingerprint,
    fingerprint_change,
    sees,
)

pytestmark = pytest.mark.django_db

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


# --- What exists -----------------------------------------------------------------------------


def resolver_routes() -> list[tuple[str, str]]:
    """(name, pattern) of every URL pattern, nested resolvers walked; unnamed ones are
    named by their pattern."""

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> Iterator:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                name = entry.name
                if name is None:
                    yield pattern, pattern
                else:
                    yield (f"{namespace}:{name}" if namespace else name), pattern

    return list(walk(get_resolver(), "", None))


def api_operations() -> set[str]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def _openapi_path(pattern: str) -> str | None:
    """The OpenAPI path of a router pattern (None for its format-suffix twin)."""
    if "format" in pattern:
        return None
    path = pattern.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<pk>[^)]*\)", "{id}", path)
    return "/" + path


def test_every_route_and_api_operation_has_a_row():
    routes = resolver_routes()
    names = {name for name, _ in routes}
    page_rows = {row.route for row in matrix.PAGES}
    missing = sorted(
        name
        for name, pattern in routes
        if not pattern.startswith("admin/")
        and not (name.startswith(matrix.API_ROUTE_PREFIX) and name != "api:api-root")
        and name not in page_rows
    )
    stale = sorted(page_rows - names)

    operations = api_operations()
    api_rows = [row.operation for row in matrix.API]
    missing_operations = sorted(operations - set(api_rows))
    stale_operations = sorted(set(api_rows) - operations)
    duplicates = sorted({op for op in api_rows if api_rows.count(op) > 1})
    # An API route the schema does not document would escape the API rows: refuse it.
    documented = {op.split(" ", 1)[1] for op in operations}
    undocumented = sorted(
        pattern
        for name, pattern in routes
        if name.startswith(matrix.API_ROUTE_PREFIX)
        and name != "api:api-root"
        and (path := _openapi_path(pattern)) is not None
        and path not in documented
    )
    registered = {model._meta.label_lower for model in admin.site._registry}
    admin_missing = sorted(registered - set(matrix.ADMIN_MODELS))
    admin_stale = sorted(set(matrix.ADMIN_MODELS) - registered)

    problems = {
        "routes without a row in tests/security/matrix.py PAGES": missing,
        "PAGES rows whose route no longer exists": stale,
        "API operations without a row in matrix.API": missing_operations,
        "matrix.API rows whose operation no longer exists": stale_operations,
        "matrix.API rows listed twice": duplicates,
        "API routes missing from the OpenAPI document": undocumented,
        "admin models missing from matrix.ADMIN_MODELS": admin_missing,
        "matrix.ADMIN_MODELS entries no longer registered": admin_stale,
    }
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


# --- Running a cell --------------------------------------------------------------------------


def _expected(outcome, ok: int, *, api: bool) -> int:
    if outcome == matrix.OK:
        return ok
    if outcome == matrix.LOGIN:
        return 401 if api else 302
    return outcome


class Baseline:
    """The state before any cell of a test: every cell is rolled back, so it is the same
    for all of them and is computed once."""

    def __init__(self):
        self._state = None

    def get(self) -> tuple:
        if self._state is None:
            self._state = fingerprint()
        return self._state


def _run_cell(
    client, method: str, url: str, *, baseline: Baseline, body=None, api=False, headers=None
):
    """One request, inside a savepoint that is rolled back so the next cell sees the same
    world; returns (response or the exception it raised, state before, state after)."""
    cache.clear()  # throttles and rate limits are tested elsewhere
    kwargs = {"headers": headers or {}}
    if body is not None:
        kwargs["data"] = body
        if api:
            kwargs["content_type"] = "application/json"
    write = method != "get"
    with transaction.atomic():
        before = baseline.get() if write else None
        try:
            response = getattr(client, method)(url, **kwargs)
        except Exception as error:  # a server error: reported as the cell's answer
            response = error
        after = fingerprint() if write else None
        transaction.set_rollback(True)
    return response, before, after


def _describe(response) -> str:
    if isinstance(response, Exception):
        return f"raised {type(response).__name__}: {response}"
    location = response.get("Location", "")
    return f"{response.status_code}{' → ' + location if location else ''}"


def _check(failures: list, cell: str, outcome, expected: int, result, *, api: bool) -> None:
    response, before, after = result
    if isinstance(response, Exception):
        failures.append(f"{cell}: expected {expected}, {_describe(response)}")
        return
    status = response.status_code
    if expected == 200 and cell.startswith("GET healthz"):
        ok = status in (200, 503)  # 503: no reachable broker, which the page reports
    else:
        ok = status == expected
    if ok and outcome == matrix.LOGIN and not api:
        ok = response["Location"].startswith((reverse("login"), reverse("admin:login")))
    if not ok:
        failures.append(f"{cell}: expected {expected}, got {_describe(response)}")
    elif outcome != matrix.OK and before is not None and before != after:
        failures.append(f"{cell}: refused ({status}) but {fingerprint_change(before, after)}")


def _object_args(world, kind: str | None, variant: str) -> list:
    if kind is None:
        return []
    value = matrix.KINDS[kind][1](world, variant)
    return list(value) if isinstance(value, tuple) else [value]


def _variants(kind: str | None) -> tuple[str, ...]:
    return matrix.KINDS[kind][0] if kind else ("-",)


# --- Pages -----------------------------------------------------------------------------------


def _page_cells(row: matrix.PageRow) -> Iterator[tuple]:
    """(method, htmx, rule, ok status) for each way the row is exercised."""
    if row.get:
        yield "get", False, row.get, row.ok_get
        if row.htmx:
            yield "get", True, row.get, row.ok_get
    if row.post:
        yield "post", False, row.post, row.ok_post
        if row.htmx_post is not None:
            yield "post", True, row.post, row.htmx_post


@pytest.mark.parametrize("row", matrix.PAGES, ids=lambda row: row.route)
def test_page_permissions(world, row):
    baseline = Baseline()
    failures: list[str] = []
    cells = 0
    for variant in _variants(row.kind):
        url = reverse(row.route, args=_object_args(world, row.kind, variant))
        for method, htmx, rule, ok in _page_cells(row):
            for role in ROLES:
                outcome = rule(role, variant)
                expected = _expected(outcome, ok, api=False)
                body = None
                if method == "post":
                    body = row.body(world, variant, role) if row.body else {}
                headers = {"HX-Request": "true"} if htmx else None
                result = _run_cell(
                    client_for(world, role),
                    method,
                    url,
                    baseline=baseline,
                    body=body,
                    headers=headers,
                )
                cell = f"{method.upper()}{' (htmx)' if htmx else ''} {row.route} {variant} {role}"
                _check(failures, cell, outcome, expected, result, api=False)
                cells += 1
    assert cells
    assert not failures, "\n".join(failures)


# --- API -------------------------------------------------------------------------------------


def _list_ids(response) -> set[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


def _listed(role: str, kind: str, variant: str) -> bool:
    rule = {"notification": matrix.API_OWNER}.get(kind)
    if rule is not None:
        return rule(role, variant) == matrix.OK
    if kind in ("stakeholder", "contact", "initiative"):
        return True
    return matrix.API_SEES(role, variant) == matrix.OK


@pytest.mark.parametrize("row", matrix.API, ids=lambda row: row.operation)
def test_api_permissions(world, row):
    method, path = row.operation.split(" ", 1)
    method = method.lower()
    baseline = Baseline()
    failures: list[str] = []
    for variant in _variants(row.kind):
        url = path
        if "{id}" in path:
            url = path.replace("{id}", str(_object_args(world, row.kind, variant)[0]))
        if method == "get" and row.lists:
            url += "?page_size=200"
        for role in ROLES:
            outcome = row.rule(role, variant)
            expected = _expected(outcome, row.ok, api=True)
            body = row.body(world, variant, role) if row.body else None
            if method != "get" and body is None:
                body = {}
            result = _run_cell(
                client_for(world, role, api=True),
                method,
                url,
                baseline=baseline,
                body=body,
                api=True,
            )
            response = result[0]
            cell = f"{row.operation} {variant} {role}"
            _check(failures, cell, outcome, expected, result, api=True)
            if row.lists and not isinstance(response, Exception) and response.status_code == 200:
                ids = _list_ids(response)
                for listed_variant in _variants(row.lists):
                    pk = _object_args(world, row.lists, listed_variant)[0]
                    if (pk in ids) != _listed(role, row.lists, listed_variant):
                        failures.append(
                            f"{cell}: {row.lists} of {listed_variant} "
                            f"{'listed' if pk in ids else 'missing'}"
                        )
    assert not failures, "\n".join(failures)


# --- The admin site: one family ----------------------------------------------------------------


def admin_routes() -> list[tuple[str, str]]:
    return [(name, pattern) for name, pattern in resolver_routes() if pattern.startswith("admin/")]


def _admin_url(world, name: str, pattern: str) -> str:
    """A concrete URL for an admin pattern: the first object of its model where one is named."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    path = pattern
    parts = pattern.split("/")
    model = None
    if len(parts) > 3 and apps.is_installed(parts[1]):
        try:
            model = apps.get_model(parts[1], parts[2])
        except LookupError:
            model = None
    obj = model._default_manager.order_by("pk").first() if model else None
    object_id = str(obj.pk) if obj else "0"
    if "^([^/]+)/history/([^/]+)/$" in path:
        record = obj.history.order_by("-history_id").first() if obj else None
        history_id = str(record.history_id) if record else "0"
        path = path.replace("^([^/]+)/history/([^/]+)/$", f"{object_id}/history/{history_id}/")
    relationship = world.rel("secret")
    content_type = ContentType.objects.get_for_model(relationship)
    path = path.replace(
        "r/<path:content_type_id>/<path:object_id>/", f"r/{content_type.pk}/{relationship.pk}/"
    )
    for placeholder in ("<path:object_id>", "<id>", "<int:pk>"):
        path = path.replace(placeholder, object_id)
    path = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "relationships/", path)
    path = path.replace("(?P<url>.*)$", "no-such-page/")
    return "/" + path


# Signing in and out of the admin: open to everyone (signing in goes through the site's own
# login with its second factor); these only must never serve an admin page to non-admins.
ADMIN_SIGN_IN_OUT = ("admin:login", "admin/login/", "admin:logout")


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        (reverse("login"), reverse("admin:login"))
    )


@pytest.mark.parametrize(("name", "pattern"), admin_routes(), ids=lambda value: value)
def test_admin_site_is_for_admins_only(world, name, pattern):
    """Admins get in (the object pages answer 200 or, for a model without rows, redirect or
    refuse by the model admin's own rules); everyone else signed in gets the 403 page, and
    whoever is not signed in is sent to sign in — never a 200 — and a write they post
    changes nothing."""
    url = _admin_url(world, name, pattern)
    baseline = Baseline()
    failures = []
    for role in ROLES:
        methods = ("get",) if role == "admin" else ("get", "post")
        for method in methods:
            response, before, after = _run_cell(
                client_for(world, role),
                method,
                url,
                baseline=baseline,
                body={} if method == "post" else None,
            )
            cell = f"{method.upper()} {name} {url} {role}"
            if isinstance(response, Exception):
                failures.append(f"{cell}: {_describe(response)}")
            elif name in ADMIN_SIGN_IN_OUT:
                if response.status_code >= 500 or (role != "admin" and response.status_code == 200):
                    failures.append(f"{cell}: {_describe(response)}")
            elif role == "admin":
                if response.status_code >= 500 or _is_login_redirect(response):
                    failures.append(f"{cell}: {_describe(response)}")
                elif name.endswith(("_changelist", ":index")) and not (
                    response.status_code == 200
                    # A one-row model (the security policy) opens its only record.
                    or response.status_code == 302
                    and response["Location"].startswith(url)
                ):
                    failures.append(f"{cell}: expected 200, got {_describe(response)}")
            elif role in SIGNED_IN and response.status_code != 403:
                # Not a redirect: the admin's login page is ours, which sends a signed-in
                # user straight back to the admin, round and round.
                failures.append(f"{cell}: expected 403, got {_describe(response)}")
            elif role not in SIGNED_IN and not _is_login_redirect(response):
                failures.append(f"{cell}: expected a login redirect, got {_describe(response)}")
            elif before is not None and before != after:
                failures.append(f"{cell}: refused but {fingerprint_change(before, after)}")
    assert not failures, "\n".join(failures)


# --- Id filters: an invisible record answers like a missing one ------------------------------
# Every API list parameter that takes a related id, found from the OpenAPI document and the
# views' FilterSets (so a filter added later is checked too), asked by each role for a record
# it may not see and for one that does not exist: same status, same body. Otherwise the
# filter tells whether another team's confidential relationship (or a record on it) exists.

# The events list's subject_id is a row of whichever model subject_type names, matched only
# among the events the caller may see (and refused without subject_type): a hidden record's
# id and a missing one both find nothing (events/tests/test_api.py checks that).
NOT_ID_PARAMETERS = {"page", "page_size", "subject_id"}


def _view_class(path: str):
    callback = resolve(path).func
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def _filter_model(filterset_class, id_filter) -> str:
    queryset = id_filter.queryset
    if isinstance(queryset, QuerySet):
        return queryset.model._meta.label_lower
    # A callable queryset: the model the filter's field points at.
    field = get_model_field(filterset_class._meta.model, id_filter.field_name)
    return field.related_model._meta.label_lower


def _is_integer(parameter: dict) -> bool:
    schema = parameter.get("schema", {})
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    return schema.get("type") == "integer"


def id_parameters() -> list[tuple[str, str, str | None]]:
    """(path, parameter, model label or None when nothing says) of every list's id filter."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    found: dict[tuple[str, str], str | None] = {}
    for path, operations in document["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        view_class = _view_class(path)
        filterset_class = getattr(view_class, "filterset_class", None)
        if filterset_class is not None:
            for name, id_filter in filterset_class.base_filters.items():
                if isinstance(id_filter, QuerySetRequestMixin):
                    found[path, name] = _filter_model(filterset_class, id_filter)
        for parameter in operations["get"].get("parameters", []):
            name = parameter["name"]
            if parameter["in"] != "query" or name in NOT_ID_PARAMETERS:
                continue
            if _is_integer(parameter) and (path, name) not in found:
                found[path, name] = matrix.OTHER_ID_PARAMETERS.get((path, name))
    return [(path, name, label) for (path, name), label in sorted(found.items())]


ID_PARAMETERS = id_parameters()


def _ask(client, path: str, name: str, value: str) -> tuple[int, str]:
    cache.clear()  # throttles are tested elsewhere
    response = client.get(path, {name: value})
    # An id quoted in the answer ("Select a valid choice. 12 is not …") is not a difference.
    return response.status_code, response.content.decode().replace(value, "<id>")


def id_filter_failures(world, path: str, name: str, label: str | None) -> list[str]:
    if label is None:
        return [f"{path}?{name}=: which model does it name? Add it to matrix.OTHER_ID_PARAMETERS."]
    model = apps.get_model(label)
    missing = str((model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1000)
    failures = []
    if label in permissions.SHARED_MODELS:
        # Everyone's records: a real one filters, a missing one is refused or finds nothing.
        existing = str(model._default_manager.order_by("pk").first().pk)
        client = client_for(world, "contributor_a", api=True)
        for value, expected in ((existing, {200}), (missing, {200, 400, 404})):
            status, body = _ask(client, path, name, value)
            if status not in expected:
                failures.append(f"{path}?{name}={value} ({label}): answered {status}: {body}")
        return failures
    if label not in permissions.RELATIONSHIP_SCOPED:
        return [f"{path}?{name}=: accounts.permissions does not say who may see {label} rows."]
    if label not in matrix.RECORDS_ON:
        return [f"{path}?{name}=: add {label} to matrix.RECORDS_ON (a record on a variant)."]
    record_of = matrix.RECORDS_ON[label]
    for role in ROLES:
        if role == "anonymous":
            continue
        client = client_for(world, role, api=True)
        own = str(record_of(world, "own").pk)
        status, body = _ask(client, path, name, own)
        if status != 200:
            failures.append(f"{path}?{name}= {role}: a visible {label} answered {status}: {body}")
        absent = _ask(client, path, name, missing)
        for variant in VARIANTS:
            if sees(role, variant):
                continue
            hidden = _ask(client, path, name, str(record_of(world, variant).pk))
            if hidden != absent:
                failures.append(
                    f"{path}?{name}= {role}: {variant}'s hidden {label} answered "
                    f"{hidden[0]} {hidden[1]!r}, a missing one {absent[0]} {absent[1]!r}"
                )
    return failures


def test_the_id_filter_scan_finds_every_kind_of_id_filter():
    found = {(path, name): label for path, name, label in ID_PARAMETERS}
    assert found[("/api/v1/reviews/", "relationship")] == "relationships.relationship"
    assert found[("/api/v1/feedback-requests/", "relationship")] == "relationships.relationship"
    assert found[("/api/v1/feedback-requests/", "contact")] == "stakeholders.contact"
    assert found[("/api/v1/initiatives/", "relationships")] == "relationships.relationship"
    assert found[("/api/v1/relationships/", "manager")] == "accounts.user"  # a string in the schema
    assert found[("/api/v1/users/", "teams")] == "accounts.team"
    assert found[("/api/v1/dashboard/", "team")] == "accounts.team"
    assert len(found) > 25


@pytest.mark.parametrize(("path", "name", "label"), ID_PARAMETERS, ids=lambda v: str(v))
def test_an_id_filter_answers_an_invisible_record_like_a_missing_one(world, path, name, label):
    failures = id_filter_failures(world, path, name, label)
    assert not failures, "\n".join(failures)


def test_the_id_filter_check_catches_a_list_that_does_not_scope_its_filters(world, monkeypatch):
    # As the reviews and feedback lists were: the plain backend offers every relationship.
    from django_filters.rest_framework import DjangoFilterBackend

    from reviews.api import ReviewViewSet

    monkeypatch.setattr(ReviewViewSet, "filter_backends", [DjangoFilterBackend])
    failures = id_filter_failures(
        world, "/api/v1/reviews/", "relationship", "relationships.relationship"
    )
    assert any("secret's hidden relationships.relationship answered 200" in f for f in failures)


# --- The admin writes through the services ------------------------------------------------------


def test_every_admin_model_writes_through_a_service_or_is_read_only_or_plain_data(rf, world):
    from core.admin_writes import ServiceAdmin

    request = rf.get("/admin/")
    request.user = world.users["admin"]
    kinds = {
        "service": set(matrix.ADMIN_THROUGH_SERVICES),
        "read-only": set(matrix.ADMIN_READ_ONLY),
        "plain": set(matrix.ADMIN_PLAIN),
    }
    registered = {
        model._meta.label_lower: model_admin for model, model_admin in admin.site._registry.items()
    }
    problems = []
    for label, model_admin in sorted(registered.items()):
        listed = [kind for kind, labels in kinds.items() if label in labels]
        if len(listed) != 1:
            problems.append(f"{label}: listed as {listed or 'nothing'} in matrix.ADMIN_*")
            continue
        writes = [
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        ]
        if listed == ["service"] and not isinstance(model_admin, ServiceAdmin):
            problems.append(f"{label}: its admin does not save through a service")
        if listed == ["read-only"] and any(writes):
            problems.append(f"{label}: read-only, but the admin may add/change/delete {writes}")
    stale = set().union(*kinds.values()) - set(registered)
    assert not problems and not stale, "\n".join(problems + sorted(stale))


@pytest.mark.parametrize("row", matrix.ADMIN_WRITES, ids=lambda row: row.name)
def test_an_admin_write_goes_through_the_service(world, row):
    """An allowed admin save records its event (by the admin, via the admin); a refused one
    (a lifecycle rule, a stale version, a cycle, a read-only record) changes nothing."""
    from events.models import Event
    from tests.admin_forms import admin_form_data

    cache.clear()
    client = client_for(world, "admin")
    url = row.url(world)
    with transaction.atomic():
        body = row.changes(world)
        if row.form:
            body = {**admin_form_data(client.get(url)), **body}
        before = fingerprint()
        last_event = Event.objects.aggregate(top=Max("pk"))["top"] or 0
        response = client.post(url, body)
        after = fingerprint()
        events = list(Event.objects.filter(pk__gt=last_event).values_list("verb", "via", "actor"))
        transaction.set_rollback(True)
    assert response.status_code < 500, _describe(response)
    if row.verb is None:
        assert before == after, fingerprint_change(before, after)
        assert events == []
        if response.status_code == 200:  # the form again, saying why
            assert response.context["adminform"].form.errors
    else:
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert events == [(row.verb, "admin", world.users["admin"].pk)]

"""Read scale-out (core.dbrouting): report reads from the replica, everything a user must see
straight away from the primary, and a replica that lags or dies costs nobody a page.

There is no streaming replica in the test suite: the "replica" alias here is a second
connection to the test database (so the tests commit: transactional_db). What a real
replica adds, lag and a server that dies, is proven by `make scaleout`; here lag is what
the last probe measured, set by the test.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import dbrouting
from dashboard import figurecache
from dashboard.forms import DashboardFilterForm
from relationships.models import Interaction
from tests.factories import InteractionFactory, RelationshipFactory, TeamFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="a replica is a PostgreSQL standby: needs PostgreSQL"
)


# Registered before the tests' database set-up, which only lets tests use aliases it knows.
@pytest.fixture(scope="module", autouse=True)
def _replica_alias():
    default = connections["default"].settings_dict
    connections.settings[dbrouting.REPLICA] = {
        **default,
        "TEST": {**default["TEST"], "MIRROR": "default"},
    }
    yield
    connections[dbrouting.REPLICA].close()
    del connections.settings[dbrouting.REPLICA]


# The replica's queries must see the tests' rows: they are committed.
uses_replica = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=["default", "replica"]
)


def _reconnect_replica(**overrides) -> None:
    connections[dbrouting.REPLICA].close()
    del connections[dbrouting.REPLICA]  # the next use connects with these settings
    connections.settings[dbrouting.REPLICA].update(overrides)


@pytest.fixture
def replica(settings):
    """A replica that is always up to date: a second connection to the test database."""
    settings.DATABASE_ROUTERS = ["core.dbrouting.ReplicaRouter"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "core.dbrouting.ReplicaReadsMiddleware"]
    dbrouting.forget_health()
    yield connections[dbrouting.REPLICA]
    dbrouting.forget_health()


@pytest.fixture
def dead_replica(replica):
    """A replica nobody listens for: every connection is refused."""
    saved = dict(connections.settings[dbrouting.REPLICA])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _reconnect_replica(HOST="127.0.0.1", PORT=str(port))
    yield
    _reconnect_replica(**saved)


@pytest.fixture
def replica_without_health_checks(replica):
    _reconnect_replica(CONN_HEALTH_CHECKS=False)
    yield connections[dbrouting.REPLICA]
    _reconnect_replica(CONN_HEALTH_CHECKS=True)


@pytest.fixture
def relationship(team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="build")
    InteractionFactory(relationship=relationship, summary="First meeting")
    _settled_a_minute_ago()
    return relationship


def _settled_a_minute_ago() -> None:
    """The dashboard's topics last changed a minute ago: figures cached under their versions
    may be computed from the replica (one made just now must come from the primary)."""
    for topic in figurecache.TOPIC_VERBS:
        cache.set(f"dashboard:topic:{topic}", f"{time.time() - 60:.6f}-settled", None)


def _replica_queries(client, replica, path: str) -> tuple[int, int, bytes]:
    """(status, reads the replica answered, body) for a GET of ``path``."""
    with CaptureQueriesContext(replica) as queries:
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    reads = [q for q in queries if not q["sql"].startswith(dbrouting.PROBE_MARK)]
    return response.status_code, len(reads), body


REPORTS = [
    "/dashboard/",
    "/dashboard/chart/funnel/",
    "/dashboard/chart/funnel.csv",
    "/relationships/export.csv",
    "/stakeholders/export.csv",
    "/api/v1/interactions/",
    "/api/v1/relationships/",
    "/api/v1/dashboard/",
]


@uses_replica
@pytest.mark.parametrize("path", REPORTS)
def test_report_reads_are_answered_by_the_replica(client, replica, relationship, executive, path):
    client.force_login(executive)
    status, on_replica, _ = _replica_queries(client, replica, path)
    assert status == 200
    assert on_replica > 0


@uses_replica
@pytest.mark.parametrize(
    "path", ["/", "/relationships/", "/relationships/{pk}/", "/api/v1/relationships/{pk}/"]
)
def test_other_pages_read_only_the_primary(client, replica, relationship, executive, path):
    client.force_login(executive)
    status, on_replica, _ = _replica_queries(client, replica, path.format(pk=relationship.pk))
    assert status == 200
    assert on_replica == 0


def _log_interaction(client, relationship, summary: str) -> None:
    response = client.post(
        f"/relationships/{relationship.pk}/interactions/new/",
        {
            "occurred_on": date.today().isoformat(),
            "channel": "call",
            "summary": summary,
            "sentiment": "1",
        },
    )
    assert response.status_code in (200, 302)
    assert Interaction.objects.filter(summary=summary).exists()


@uses_replica
def test_a_user_who_just_wrote_reads_the_primary_and_others_the_replica(
    client, replica, relationship, manager_a, executive, monkeypatch
):
    # However long the test takes between write and read, the replica is not known to
    # hold the write: the clocks may disagree by a minute.
    monkeypatch.setattr(dbrouting, "CLOCK_MARGIN_SECONDS", 60.0)
    client.force_login(manager_a)
    _log_interaction(client, relationship, "Agreed the pilot scope")

    status, on_replica, body = _replica_queries(client, replica, "/api/v1/interactions/")
    assert status == 200 and b"Agreed the pilot scope" in body
    assert on_replica == 0

    client.force_login(executive)  # has written nothing
    status, on_replica, body = _replica_queries(client, replica, "/api/v1/interactions/")
    assert status == 200 and b"Agreed the pilot scope" in body
    assert on_replica > 0


@uses_replica
def test_once_the_replica_holds_their_write_the_writer_reads_it_again(
    client, replica, relationship, manager_a
):
    client.force_login(manager_a)
    _log_interaction(client, relationship, "Signed the agreement")
    time.sleep(dbrouting.CLOCK_MARGIN_SECONDS + 0.2)
    # A probe now finds the replica caught up with everything written before it.
    status, on_replica, body = _replica_queries(client, replica, "/api/v1/interactions/")
    assert status == 200 and b"Signed the agreement" in body
    assert on_replica > 0


def _route_of_a_report_read(rf, user, before=None) -> str:
    """Where a read of interactions goes, in a report GET by ``user``, after ``before()``."""
    seen: list[str] = []

    @dbrouting.report_read
    def view(request):
        if before is not None:
            before()
        seen.append(dbrouting.ReplicaRouter().db_for_read(Interaction))

    def get_response(request):
        middleware.process_view(request, view, (), {})
        view(request)
        return HttpResponse()

    request = rf.get("/report/")
    request.user = user
    middleware = dbrouting.ReplicaReadsMiddleware(get_response)
    middleware(request)
    return seen[0]


@uses_replica
def test_writes_and_reads_in_a_transaction_or_after_a_write_go_to_the_primary(
    rf, replica, executive
):
    router = dbrouting.ReplicaRouter()
    assert _route_of_a_report_read(rf, executive) == "replica"
    assert router.db_for_write(Interaction) == "default"

    in_transaction: list[str] = []

    def read_in_a_transaction():
        with transaction.atomic():
            in_transaction.append(router.db_for_read(Interaction))

    _route_of_a_report_read(rf, executive, read_in_a_transaction)
    assert in_transaction == ["default"]
    # Bookkeeping of who the user is (a team here) is read from the primary anyway...
    assert _route_of_a_report_read(rf, executive, TeamFactory) == "replica"
    # ...but having written data a report shows, the request reads what it wrote.
    assert _route_of_a_report_read(rf, executive, InteractionFactory) == "default"
    # Outside a report (a task, any other page): the primary.
    assert router.db_for_read(Interaction) == "default"


@uses_replica
def test_a_replica_lagging_beyond_the_limit_is_not_read(client, replica, relationship, executive):
    client.force_login(executive)
    assert _replica_queries(client, replica, "/api/v1/interactions/")[1] > 0
    # The last probe measured 30 s of lag (a paused replay, say).
    dbrouting._health.fresh_as_of = time.time() - 30
    dbrouting._health.checked = time.monotonic()
    status, on_replica, _ = _replica_queries(client, replica, "/api/v1/interactions/")
    assert (status, on_replica) == (200, 0)
    # The next probe finds it caught up: it is read again.
    dbrouting._health.checked = -math.inf
    assert _replica_queries(client, replica, "/api/v1/interactions/")[1] > 0


@uses_replica
def test_a_figure_cached_under_a_version_made_just_now_is_computed_on_the_primary(
    rf, replica, executive
):
    computed: list[str] = []

    @figurecache.cached_figure("value")
    def figure(user, filters, attempt):
        computed.append(dbrouting.ReplicaRouter().db_for_read(Interaction))
        return 1

    filters = DashboardFilterForm({}, today=timezone.localdate()).filters()

    def cache_a_figure():
        figure(executive, filters, len(computed))

    figurecache.bump(["value"])  # a write has just committed
    _route_of_a_report_read(rf, executive, cache_a_figure)
    _settled_a_minute_ago()  # the replica holds everything the versions cover
    _route_of_a_report_read(rf, executive, cache_a_figure)
    assert computed == ["default", "replica"]


@uses_replica
def test_a_dead_replica_costs_no_page_and_healthz_reports_it(
    client, dead_replica, relationship, executive
):
    client.force_login(executive)
    started = time.monotonic()
    for path in REPORTS:
        response = client.get(path)
        assert response.status_code == 200, path
    assert time.monotonic() - started < 10
    assert dbrouting._health.is_down()

    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["replica"].startswith("down: OperationalError")


@uses_replica
def test_healthz_reports_a_replica_in_use(client, replica):
    assert client.get("/healthz").json()["replica"] == "ok"


@uses_replica
@pytest.mark.parametrize("path", ["/dashboard/chart/funnel/", "/api/v1/interactions/"])
def test_a_report_the_replica_fails_half_way_is_answered_from_the_primary(
    client, replica_without_health_checks, relationship, executive, path
):
    # Without health checks a dead pooled connection is only found by the report's query.
    replica = replica_without_health_checks
    client.force_login(executive)
    assert _replica_queries(client, replica, "/api/v1/relationships/")[1] > 0
    with connections["default"].cursor() as cursor:  # the replica's server drops it
        cursor.execute("SELECT pg_terminate_backend(%s)", [replica.connection.info.backend_pid])
    dbrouting._health.checked = time.monotonic()  # and no probe runs before the report

    response = client.get(path)
    assert response.status_code == 200
    assert dbrouting._health.is_down()


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess:
    script = (
        "import json; from django.conf import settings as s; print(json.dumps(["
        "sorted(s.DATABASES), s.DATABASE_ROUTERS, s.MIDDLEWARE[-1],"
        "s.DATABASES.get('replica', {}).get('OPTIONS'),"
        "s.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR')]))"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://db.example/rapport", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_replica_url_nothing_changes():
    result = _settings_with({})
    assert result.returncode == 0, result.stderr
    databases, routers, last_middleware, _, _ = json.loads(result.stdout.splitlines()[-1])
    assert (databases, routers) == (["default"], [])
    assert last_middleware != "core.dbrouting.ReplicaReadsMiddleware"


def test_a_replica_url_adds_the_replica_with_a_short_connect_timeout():
    result = _settings_with({"DATABASE_REPLICA_URL": "postgres://standby.example/rapport"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        ["default", "replica"],
        ["core.dbrouting.ReplicaRouter"],
        "core.dbrouting.ReplicaReadsMiddleware",
        {"connect_timeout": 2},
        "default",  # in tests: the default database itself
    ]


def test_a_replica_of_sqlite_stops_start_up_naming_the_variable():
    result = _settings_with(
        {"DATABASE_URL": "sqlite:////tmp/x.db", "DATABASE_REPLICA_URL": "postgres://standby/x"}
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DATABASE_REPLICA_URL needs PostgreSQL for it and for "
        "DATABASE_URL (postgres://…)."
    ]

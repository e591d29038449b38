"""`make drills`: fault drills against real services on loopback, bounded and self-cleaning.

Every drill runs on a private PostgreSQL cluster (initdb'd into a temporary directory, on a
free port) and a private redis-server, both started by this script: the drills stop, kill
and restart *those*, never the machine's shared servers. One database is migrated and
seeded once (`seed_demo --scale small`, plus a trigger that records every insert or refresh
of a notification); each drill works on its own copy (CREATE DATABASE … TEMPLATE).

Drills (run all, or name some: `make drills ARGS="pg_restart backup_restore"`):

pg_restart      Client threads sign in through the real login form and load pages and log
                interactions through the quick-log form while PostgreSQL is stopped (fast
                shutdown) for --pg-down seconds and started again. Passes if every failed
                response is a 503 without a traceback, every client is served again within
                5 s of the database accepting connections (CONN_HEALTH_CHECKS replaces the
                dead pooled connections), and every write acknowledged with a redirect is in
                the database exactly once.
redis_outage    Redis (broker, results, cache) is SIGKILLed for --redis-down seconds (30)
                while clients load pages, API lists and log interactions, and while reviews
                and commitments come due. Passes if every response is a success (the cache
                fails open, enqueues fail soft), and once Redis is back the worker and beat
                (firing every few seconds) deliver every reminder owed exactly once.
worker_kill     run_reminders over --kill-reminders reminders; mid-run (by database progress)
                (a) the worker's pool process is SIGKILLed: the main process requeues the task
                (acks_late + reject_on_worker_lost) and a fresh pool process finishes it;
                (b) the whole worker is SIGKILLed: the message stays unacknowledged in Redis
                and a new worker gets it after the visibility timeout
                (CELERY_VISIBILITY_TIMEOUT, shortened for the drill). Passes if every
                reminder is notified exactly once in both cases.
two_workers_10k --reminders (10,000) due reminders, two workers of two processes each, eight
                reminder runs at once: every reminder notified exactly once, both workers
                took part; the time is reported.
backup_restore  While clients write, `make backup SNAPSHOT=…` dumps an exported snapshot in
                which per-table row counts and checksums were taken; `make restore` into a new
                database must reproduce them exactly; restoring again into the now non-empty
                database must be refused without FORCE=1 and succeed with it.

Prints a table, writes JSON to drills/results/, exits non-zero if any drill failed. Logs of
every server stay in the printed temporary directory (the database files are removed).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402  (bench/ is not a package)
    PYTHON,
    Client,
    Supervisor,
    free_port,
    load_average,
    manage,
    server_env,
    shell_json,
)
from scaleout import BEAT_BOOTSTRAP, TRIGGER_SCRIPT, task_runs  # noqa: E402
from services import PrivatePostgres, PrivateRedis  # noqa: E402

RESULTS = ROOT / "drills" / "results"
BASE_DB = "drills_base"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
RECOVERY_LIMIT = 5.0  # seconds from "database ready" to every client served again (the issue)
DRILL_TIMEOUTS = {  # hard limits: a drill that hangs is stopped, cleaned up and failed
    "pg_restart": 180,
    "redis_outage": 300,
    "worker_kill": 300,
    "two_workers_10k": 420,
    "backup_restore": 240,
}
DRILLS = list(DRILL_TIMEOUTS)
DRILL_USER_PREFIX = "drill-"

# --- Scripts run with `manage.py shell -c` against a drill's database -----------------------

BASE_SETUP = """
import json
from django.db import connection
from accounts.models import User
from notifications.models import Notification
from relationships.models import ACTIVE_STAGES, Relationship

manager = User.objects.get(username="manager")
relationships = list(
    Relationship.objects.filter(manager=manager, stage__in=ACTIVE_STAGES)
    .order_by("pk").values_list("pk", flat=True)
)
# Every insert or refresh of a notification, recorded by the database itself: "delivered
# exactly once" means exactly one such event per reminder.
table = Notification._meta.db_table
with connection.cursor() as cursor:
    cursor.execute('''
        CREATE TABLE drills_notification_audit (
            id bigserial PRIMARY KEY, op text, notification_id bigint, recipient_id bigint,
            key text, at timestamptz DEFAULT clock_timestamp())
    ''')
    cursor.execute('''
        CREATE FUNCTION drills_notification_audit() RETURNS trigger AS $$
        BEGIN
            INSERT INTO drills_notification_audit (op, notification_id, recipient_id, key)
            VALUES (TG_OP, NEW.id, NEW.recipient_id, NEW.key);
            RETURN NEW;
        END $$ LANGUAGE plpgsql
    ''')
    cursor.execute(f'''
        CREATE TRIGGER drills_notification_audit AFTER INSERT OR UPDATE ON "{table}"
        FOR EACH ROW EXECUTE FUNCTION drills_notification_audit()
    ''')
print(json.dumps({"relationships": relationships}))
"""

# Nothing owed: no open review due within the look-ahead, no commitment past due. Reminder
# runs then deliver exactly what a drill makes due, and nothing else.
QUIET = """
from datetime import timedelta
from django.utils import timezone
from relationships.models import Commitment
from reviews.models import Review
from reviews.reminders import reminders_run

today = timezone.localdate()
Review.objects.filter(status=Review.Status.SCHEDULED).update(due_on=today + timedelta(days=90))
Commitment.objects.filter(status=Commitment.Status.OPEN).update(due_on=today + timedelta(days=90))
reminders_run()
"""

MAKE_REMINDERS = (
    QUIET
    + """
import json, math
from accounts.models import Role, User
from relationships.models import ACTIVE_STAGES
from reviews.models import Reminder

N, KIND, PREFIX = {n}, {kind!r}, {prefix!r}
reviews = list(
    Review.objects.filter(status=Review.Status.SCHEDULED, relationship__stage__in=ACTIVE_STAGES)
    .order_by("pk").values_list("pk", flat=True)
)
# One reminder per (open review, person): distinct in-app notifications, so each reminder's
# delivery is one notification event. People enough to make N of them.
needed = math.ceil(N / len(reviews))
have = User.objects.filter(username__startswith=PREFIX).count()
User.objects.bulk_create([
    User(username=f"{{PREFIX}}{{i:05d}}", email=f"{{PREFIX}}{{i}}@drill.invalid",
         role=Role.CONTRIBUTOR, password="!")
    for i in range(have, needed)
])
users = list(
    User.objects.filter(username__startswith=PREFIX).order_by("pk").values_list("pk", flat=True)
)[:needed]
rows = [
    # Not e-mailed: the drills are about in-app delivery (scaleout covers the e-mails).
    Reminder(kind=KIND, review_id=r, recipient_id=u, for_date=today, email_skipped=True)
    for u in users for r in reviews
][:N]
Reminder.objects.bulk_create(rows, batch_size=2000)
print(json.dumps({{"reminders": len(rows), "reviews": len(reviews), "people": len(users)}}))
"""
)

COME_DUE = """
import json
from datetime import timedelta
from django.utils import timezone
from relationships.models import ACTIVE_STAGES, Commitment
from reviews.models import Review

today = timezone.localdate()
reviews = list(
    Review.objects.filter(status=Review.Status.SCHEDULED, relationship__stage__in=ACTIVE_STAGES)
    .order_by("pk").values_list("pk", flat=True)[:{reviews}]
)
Review.objects.filter(pk__in=reviews).update(due_on=today)
commitments = list(
    Commitment.objects.filter(
        status=Commitment.Status.OPEN, direction=Commitment.Direction.OURS,
        relationship__stage__in=ACTIVE_STAGES,
    ).order_by("pk").values_list("pk", flat=True)[:{commitments}]
)
Commitment.objects.filter(pk__in=commitments).update(due_on=today - timedelta(days=1))
print(json.dumps({{"today": today.isoformat(), "reviews": reviews, "commitments": commitments}}))
"""

QUIET_SCRIPT = QUIET + "\nprint('{}')\n"


# --- The lab: private servers and a seeded template database ---------------------------------


@dataclass
class Lab:
    work: Path
    pg: PrivatePostgres
    redis: PrivateRedis
    run_id: str
    relationships: list[int] = field(default_factory=list)

    def env(self, database: str, port: int | None = None, **extra: str) -> dict[str, str]:
        port = port or free_port()
        env = server_env(self.pg.url(database), self.redis.url(0), port)
        env.update(
            {
                "WEB_CONCURRENCY": "2",
                "GUNICORN_THREADS": "2",
                "LOG_LEVEL": "WARNING",
                "CONN_MAX_AGE": "600",
                "CELERY_TASK_ALWAYS_EAGER": "False",
            }
        )
        env.update(extra)
        return env

    def logs(self, drill: str) -> Path:
        path = self.work / drill
        path.mkdir(exist_ok=True)
        return path

    def database(self, name: str) -> str:
        """A fresh copy of the seeded database; returns its name."""
        self.pg.create_database(name, template=BASE_DB)
        return name


def prepare(lab: Lab) -> dict:
    started = time.monotonic()
    lab.pg.init()
    lab.pg.start()
    lab.redis.start()
    lab.pg.create_database(BASE_DB)
    env = lab.env(BASE_DB)
    print("drills: migrating and seeding the template database …", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--scale", "small")
    manage(env, "collectstatic", "--noinput", "-v0")
    facts = shell_json(env, BASE_SETUP)
    lab.relationships = facts["relationships"]
    if not lab.relationships:
        raise SystemExit("drills: the demo manager has no active relationship to write to")
    return {"prepare_seconds": round(time.monotonic() - started, 1)}


# --- Load: browser-like clients recording every response -------------------------------------


@dataclass
class Sample:
    client: int
    start: float
    end: float
    method: str
    path: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    traceback: bool
    summary: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


class DrillClient(Client):
    """bench's signed-in client, but a POST is never silently sent twice (an unanswered
    write is recorded as unanswered) and every answer is kept with its timing."""

    def __init__(self, port: int):
        super().__init__(port)
        self.last_used = 0.0

    def call(self, method: str, path: str, body: str | None = None, headers=None):
        # A keep-alive connection idle for a while may have been closed by the server: for a
        # write, open a new one rather than risk a resend.
        if method != "GET" and time.monotonic() - self.last_used > 1.0:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        attempts = 2 if method == "GET" else 1
        error = ""
        for _ in range(attempts):
            try:
                self.connection.request(method, path, body=body, headers=self._headers(headers))
                response = self.connection.getresponse()
                content = response.read()
                for header, value in response.getheaders():
                    if header.lower() == "set-cookie":
                        name, _, rest = value.partition("=")
                        self.cookies[name] = rest.split(";", 1)[0]
                self.last_used = time.monotonic()
                return response.status, content, ""
            except (http.client.HTTPException, OSError) as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return 0, b"", error


class Load:
    """Client threads, each signed in as ``username``, cycling through pages and (with
    ``writes``) logging an interaction through the quick-log form with a unique summary."""

    def __init__(
        self,
        port: int,
        relationships: list[int],
        marker: str,
        *,
        clients: int = 4,
        pages: tuple[str, ...] = ("/", "/relationships/", "/api/v1/relationships/?page_size=10"),
        writes: bool = True,
        pace: float = 0.05,
        username: str = "manager",
    ):
        self.port = port
        self.relationships = relationships
        self.marker = marker
        self.clients = clients
        self.pages = pages
        self.writes = writes
        self.pace = pace
        self.username = username
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.signed_in = threading.Semaphore(0)
        self.failures: list[str] = []

    def __enter__(self) -> Load:
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)
        for _ in range(self.clients):
            if not self.signed_in.acquire(timeout=60):
                self.stopping.set()
                raise SystemExit("drills: the load clients could not sign in within 60 s")
        if self.failures:
            self.stopping.set()
            raise SystemExit(f"drills: a load client failed: {self.failures[0]}")
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def _record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def _request(
        self, client: DrillClient, index: int, method: str, path: str, summary: str = "", **kw
    ):
        started = time.monotonic()
        status, content, error = client.call(method, path, **kw)
        sample = Sample(
            client=index,
            start=started,
            end=time.monotonic(),
            method=method,
            path=path,
            status=status,
            traceback=b"Traceback" in content,
            summary=summary,
            error=error,
        )
        self._record(sample)
        return sample, content

    def _run(self, index: int) -> None:
        try:
            client = DrillClient(self.port)
            client.sign_in(self.username)
        except BaseException as exc:  # noqa: BLE001 - reported to the drill, never lost
            self.failures.append(f"sign-in: {exc!r}")
            self.signed_in.release()
            return
        self.signed_in.release()
        mine = self.relationships[index :: self.clients] or self.relationships
        day = (date.today() - timedelta(days=1)).isoformat()  # never in the server's future
        origin = f"https://127.0.0.1:{self.port}"
        for seq in itertools.count(1):
            if self.stopping.is_set():
                return
            relationship = mine[seq % len(mine)]
            for path in self.pages:
                if self.stopping.is_set():
                    return
                self._request(client, index, "GET", path)
            detail = f"/relationships/{relationship}/"
            sample, page = self._request(client, index, "GET", detail)
            token = CSRF.search(page) if sample.status == 200 else None
            if self.writes and token and not self.stopping.is_set():
                summary = f"{self.marker}-{index}-{seq}"
                body = urlencode(
                    {
                        "csrfmiddlewaretoken": token.group(1).decode(),
                        "occurred_on": day,
                        "channel": "call",
                        "summary": summary,
                        "sentiment": "1",
                    }
                )
                self._request(
                    client,
                    index,
                    "POST",
                    f"{detail}interactions/new/",
                    summary=summary,
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Origin": origin,
                        "Referer": origin + detail,
                    },
                )
            time.sleep(self.pace)

    # What happened, by time window (request start times, monotonic clock).

    def between(self, start: float, end: float = float("inf")) -> list[Sample]:
        with self.lock:
            return [s for s in self.samples if start <= s.start < end]

    def acknowledged(self) -> set[str]:
        # The quick-log form answers a saved interaction with a redirect to the relationship.
        with self.lock:
            return {s.summary for s in self.samples if s.summary and s.status == 302}

    def attempted(self) -> set[str]:
        with self.lock:
            return {s.summary for s in self.samples if s.summary}


def statuses(samples: list[Sample]) -> dict[str, int]:
    return dict(sorted(Counter(str(s.status) for s in samples).items()))


def latency(samples: list[Sample]) -> dict[str, float | None]:
    times = sorted((s.end - s.start) * 1000 for s in samples)
    if not times:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "max_ms": round(times[-1], 1),
    }


def writes_in_database(lab: Lab, database: str, marker: str) -> Counter:
    with lab.pg.connect(database) as connection:
        rows = connection.execute(
            "SELECT summary, count(*) FROM relationships_interaction WHERE summary LIKE %s "
            "GROUP BY summary",
            [f"{marker}-%"],
        ).fetchall()
    return Counter(dict(rows))


def check_writes(report: Report, lab: Lab, database: str, load: Load) -> None:
    stored = writes_in_database(lab, database, load.marker)
    acked = load.acknowledged()
    missing = sorted(acked - set(stored))
    doubled = sorted(s for s, n in stored.items() if n > 1)
    unacknowledged_kept = len(set(stored) - acked)
    report.check(
        "every acknowledged write is in the database exactly once",
        acked and not missing and not doubled,
        f"{len(acked)} writes acknowledged (of {len(load.attempted())} sent): "
        f"{len(acked) - len(missing)} in the database, {len(missing)} missing, "
        f"{len(doubled)} duplicated; {unacknowledged_kept} unacknowledged writes were kept",
        missing=missing[:20],
        doubled=doubled[:20],
    )


# --- Reporting -------------------------------------------------------------------------------


class Report:
    def __init__(self, drill: str):
        self.drill = drill
        self.checks: list[dict] = []
        self.figures: dict = {}

    def check(self, name: str, ok, figures: str, **data) -> bool:
        ok = bool(ok)
        self.checks.append({"check": name, "ok": ok, "figures": figures, **data})
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c["ok"] for c in self.checks)


class DrillTimeout(Exception):
    pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _alarm(signum, frame):
    raise DrillTimeout("the drill's hard time limit was reached")


# --- Exactly-once bookkeeping ----------------------------------------------------------------


def audit_mark(lab: Lab, database: str) -> int:
    with lab.pg.connect(database) as connection:
        return connection.execute(
            "SELECT coalesce(max(id), 0) FROM drills_notification_audit"
        ).fetchone()[0]


def reminder_rows(lab: Lab, database: str, where: str, params: list) -> list[tuple]:
    """(id, recipient, notification key, notified) of the reminders matching ``where``."""
    with lab.pg.connect(database) as connection:
        return connection.execute(
            "SELECT r.id, r.recipient_id, "
            "  CASE WHEN r.review_id IS NOT NULL THEN 'review:' || r.review_id "
            "       ELSE 'commitment:' || r.commitment_id END || ':' || r.kind, "
            "  r.notified_at IS NOT NULL "
            "FROM reviews_reminder r JOIN accounts_user u ON u.id = r.recipient_id "
            f"WHERE {where}",
            params,
        ).fetchall()


def exactly_once(lab: Lab, database: str, rows: list[tuple], since: int) -> dict:
    """For each reminder: notification events recorded since ``since`` and unread rows."""
    keys = sorted({key for _, _, key, _ in rows})
    with lab.pg.connect(database) as connection:
        events = Counter(
            {
                (recipient, key): n
                for recipient, key, n in connection.execute(
                    "SELECT recipient_id, key, count(*) FROM drills_notification_audit "
                    "WHERE id > %s GROUP BY 1, 2",
                    [since],
                ).fetchall()
            }
        )
        stored = Counter(
            {
                (recipient, key): n
                for recipient, key, n in connection.execute(
                    "SELECT recipient_id, key, count(*) FROM notifications_notification "
                    "WHERE key = ANY(%s) GROUP BY 1, 2",
                    [keys],
                ).fetchall()
            }
        )
    mine = {(recipient, key) for _, recipient, key, _ in rows}
    once = sum(1 for k in mine if events[k] == 1 and stored[k] == 1)
    return {
        "reminders": len(rows),
        "notified": sum(1 for row in rows if row[3]),
        "delivered_once": once,
        "never_delivered": sum(1 for k in mine if events[k] == 0),
        "delivered_twice_or_more": sum(1 for k in mine if events[k] > 1),
        "extra_deliveries": sum(max(0, events[k] - 1) for k in mine),
        "notification_events": sum(events[k] for k in mine),
        "events_for_other_subjects": sum(n for k, n in events.items() if k not in mine),
    }


def once_ok(result: dict) -> bool:
    return (
        result["reminders"] > 0
        and result["delivered_once"] == result["reminders"]
        and result["notified"] == result["reminders"]
        and result["extra_deliveries"] == 0
        and result["events_for_other_subjects"] == 0
    )


def once_figures(result: dict) -> str:
    return (
        f"{result['reminders']} reminders, {result['notified']} stamped notified, "
        f"{result['delivered_once']} delivered exactly once, {result['never_delivered']} never, "
        f"{result['delivered_twice_or_more']} more than once "
        f"({result['notification_events']} notification writes)"
    )


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def progress(lab: Lab, database: str, kind: str) -> tuple[int, int]:
    with lab.pg.connect(database) as connection:
        done, total = connection.execute(
            "SELECT count(r.notified_at), count(*) FROM reviews_reminder r "
            "JOIN accounts_user u ON u.id = r.recipient_id "
            "WHERE r.kind = %s AND u.username LIKE %s",
            [kind, DRILL_USER_PREFIX + "%"],
        ).fetchone()
    return done, total


def completed_runs(log: Path) -> int:
    return sum(1 for r in task_runs(log, "reviews.tasks.run_reminders").values() if r.get("ok"))


def worker_args(name: str, concurrency: int = 2) -> list[str]:
    return [
        "worker", "--loglevel", "INFO", "--concurrency", str(concurrency),
        "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            children.append(int(stat.parent.name))
    return children


# --- 1. PostgreSQL restart under load --------------------------------------------------------


def drill_pg_restart(lab: Lab, report: Report, args) -> None:
    database = lab.database("drill_pg_restart")
    port = free_port()
    env = lab.env(database, port)
    marker = f"drill-pg-{lab.run_id}"
    with Supervisor(lab.logs("pg_restart")) as supervisor:
        supervisor.start_gunicorn("web", env)
        with Load(port, lab.relationships, marker, clients=args.clients) as load:
            time.sleep(5)  # steady state first
            down_at = time.monotonic()
            lab.pg.stop(args.pg_stop_mode)
            stopped_at = time.monotonic()
            time.sleep(args.pg_down)
            ready_at = lab.pg.start()  # the moment it accepts a query again
            time.sleep(max(10.0, RECOVERY_LIMIT + 5))
        # Requests in flight when the stop began may fail too: the outage window starts there.
        before = [s for s in load.between(0, down_at) if s.end < down_at]
        during = load.between(down_at, ready_at)
        after = load.between(ready_at)
        late = load.between(ready_at + RECOVERY_LIMIT)
        everything = load.between(0)

    first_ok: dict[int, float] = {}
    for sample in sorted(after, key=lambda s: s.end):
        if sample.ok and sample.client not in first_ok:
            first_ok[sample.client] = sample.end - ready_at
    first = min(first_ok.values(), default=None)
    all_back = max(first_ok.values()) if len(first_ok) == args.clients else None
    failed = [s for s in everything if not s.ok]
    not_503 = [s for s in failed if s.status != 503]
    tracebacks = [s for s in everything if s.traceback]
    report.figures.update(
        {
            "down_seconds": round(ready_at - stopped_at, 2),
            "stop_mode": args.pg_stop_mode,
            "clients": args.clients,
            "statuses_before": statuses(before),
            "statuses_during": statuses(during),
            "statuses_after_ready": statuses(after),
            "first_success_after_ready_s": first and round(first, 2),
            "all_clients_served_after_ready_s": all_back and round(all_back, 2),
            "latency_during": latency(during),
        }
    )
    report.check(
        "steady state before the restart",
        before and all(s.ok for s in before),
        f"{len(before)} responses before: {statuses(before)}",
    )
    report.check(
        "during the outage the site answers 503, never a traceback",
        during and not not_503 and not tracebacks and any(s.status == 503 for s in during),
        f"PostgreSQL down {ready_at - stopped_at:.1f} s ({args.pg_stop_mode} stop): "
        f"{statuses(during)} while down; {len(failed)} failed responses in all, "
        f"{len(not_503)} of them not 503 {statuses(not_503)}; "
        f"{len(tracebacks)} bodies with a traceback",
        not_503=[asdict(s) for s in not_503[:10]],
    )
    report.check(
        f"every client served again within {RECOVERY_LIMIT:.0f} s of the database being ready",
        all_back is not None and all_back <= RECOVERY_LIMIT and all(s.ok for s in late),
        f"first success {first:.2f} s after ready, every client by "
        f"{all_back if all_back is None else round(all_back, 2)} s; "
        f"{sum(1 for s in late if not s.ok)} failures after ready + {RECOVERY_LIMIT:.0f} s "
        f"({len(late)} responses)"
        if first is not None
        else "no successful response after the database came back",
    )
    check_writes(report, lab, database, load)


# --- 2. Redis killed for 30 s ----------------------------------------------------------------


def drill_redis_outage(lab: Lab, report: Report, args) -> None:
    database = lab.database("drill_redis_outage")
    lab.redis.flush()
    port = free_port()
    env = lab.env(database, port, REMINDER_DIGEST_HOUR="0")
    marker = f"drill-redis-{lab.run_id}"
    shell_json(env, QUIET_SCRIPT)
    since = audit_mark(lab, database)
    work = lab.logs("redis_outage")
    with Supervisor(work) as supervisor:
        supervisor.start_gunicorn("web", env)
        supervisor.start_celery("worker", worker_args("worker"), env)
        beat = supervisor.start(
            "beat",
            [PYTHON, "-c", BEAT_BOOTSTRAP, str(work / "celerybeat-schedule"),
             str(args.beat_interval)],
            env,
        )  # fmt: skip
        supervisor.wait_for_log("beat", "beat: Starting", beat)
        pages = (
            "/",
            "/relationships/",
            "/dashboard/",
            "/api/v1/relationships/?page_size=10",
            "/api/v1/interactions/?page_size=10",
        )
        with Load(port, lab.relationships, marker, clients=3, pages=pages, pace=0.1) as load:
            time.sleep(5)
            killed_at = time.monotonic()
            lab.redis.kill()
            due = shell_json(env, COME_DUE.format(reviews=8, commitments=4))
            came_due_at = time.monotonic()
            time.sleep(max(0.0, args.redis_down - (came_due_at - killed_at)))
            back_at = lab.redis.start()
            runs_before_back = completed_runs(work / "worker.log")
            time.sleep(5)  # clients keep going while everything reconnects
        during = load.between(killed_at, back_at)
        before = load.between(0, killed_at)
        everything = load.between(0)

        where = (
            "r.for_date = %s AND ((r.kind = 'review_due' AND r.review_id = ANY(%s)) OR "
            "(r.kind = 'commitment_overdue' AND r.commitment_id = ANY(%s)))"
        )
        params = [date.fromisoformat(due["today"]), due["reviews"], due["commitments"]]

        def owed_delivered() -> bool:
            # A whole reminder run completed after Redis came back: it scanned what came due
            # and delivered it; and nothing it recorded is still undelivered.
            if completed_runs(work / "worker.log") <= runs_before_back:
                return False
            rows = reminder_rows(lab, database, where, params)
            return bool(rows) and all(row[3] for row in rows)

        delivered = wait_until(owed_delivered, timeout=180, interval=0.5)
        delivered_at = time.monotonic()
        time.sleep(3 * args.beat_interval)  # more runs: they must deliver nothing again
        beat_log = (work / "beat.log").read_text(errors="replace")
    rows = reminder_rows(lab, database, where, params)
    result = exactly_once(lab, database, rows, since)
    reminded = {key.rsplit(":", 1)[0] for _, _, key, _ in rows}
    subjects = [f"review:{pk}" for pk in due["reviews"]]
    subjects += [f"commitment:{pk}" for pk in due["commitments"]]

    failed = [s for s in everything if not s.ok]
    tracebacks = [s for s in everything if s.traceback]
    report.figures.update(
        {
            "redis_down_seconds": round(back_at - killed_at, 1),
            "statuses_before": statuses(before),
            "statuses_during": statuses(during),
            "latency_before": latency(before),
            "latency_during": latency(during),
            "came_due": {"reviews": len(due["reviews"]), "commitments": len(due["commitments"])},
            # A subject with nobody active to remind (no active manager, owner or reviewer).
            "came_due_without_reminder": sorted(set(subjects) - reminded),
            "delivered_after_redis_back_s": round(delivered_at - back_at, 1) if delivered else None,
            "beat_sends": beat_log.count("Sending due task"),
            "worker_runs_succeeded": completed_runs(work / "worker.log"),
            "exactly_once": result,
        }
    )
    report.check(
        "pages, API and writes keep working with Redis down",
        during and not failed and not tracebacks,
        f"Redis down {back_at - killed_at:.0f} s: {len(during)} responses while down "
        f"{statuses(during)}, p50 {latency(during)['p50_ms']} ms, p95 "
        f"{latency(during)['p95_ms']} ms (before: p50 {latency(before)['p50_ms']} ms); "
        f"{len(failed)} failures in all {statuses(failed)}, {len(tracebacks)} tracebacks",
        failures=[asdict(s) for s in failed[:10]],
    )
    check_writes(report, lab, database, load)
    report.check(
        "reminders that came due during the outage are delivered once Redis is back",
        delivered,
        f"{len(due['reviews'])} reviews and {len(due['commitments'])} commitments came due "
        f"while Redis was down; all {result['reminders']} reminders delivered "
        f"{delivered_at - back_at:.1f} s after Redis was back (worker reconnect + beat)"
        if delivered
        else f"not all delivered within 180 s of Redis coming back ({result['notified']} of "
        f"{result['reminders']} reminders)",
    )
    report.check(
        "each of them exactly once",
        once_ok(result),
        once_figures(result) + f"; {report.figures['beat_sends']} beat sends, "
        f"{report.figures['worker_runs_succeeded']} reminder runs completed",
    )


# --- 3. Worker killed mid-task ---------------------------------------------------------------


def drill_worker_kill(lab: Lab, report: Report, args) -> None:
    database = lab.database("drill_worker_kill")
    lab.redis.flush()
    env = lab.env(database)
    work = lab.logs("worker_kill")
    n = args.kill_reminders

    def mid_run(kind: str) -> int:
        """Wait until the run has committed some batches but not all; returns the count."""
        low, high = max(1, n // 10), n // 2
        done = 0

        def midway() -> bool:
            nonlocal done
            done, _ = progress(lab, database, kind)
            return low <= done <= high

        if not wait_until(midway, timeout=120, interval=0.05):
            raise SystemExit(f"drills: the reminder run never got midway ({done} of {n})")
        return done

    # (a) The pool process dies; the worker's main process survives and requeues the task.
    setup = shell_json(env, MAKE_REMINDERS.format(n=n, kind="review_due", prefix=DRILL_USER_PREFIX))
    since = audit_mark(lab, database)
    with Supervisor(work) as supervisor:
        worker = supervisor.start_celery("worker-a", worker_args("worker-a", 1), env)
        sent_at = time.monotonic()
        shell_json(env, TRIGGER_SCRIPT.format(n=1))
        at_kill = mid_run("review_due")
        children = child_pids(worker.pid)
        if len(children) != 1:
            raise SystemExit(f"drills: expected one pool process, found {children}")
        os.kill(children[0], signal.SIGKILL)
        killed_at = time.monotonic()
        finished = wait_until(lambda: progress(lab, database, "review_due")[0] == n, 180)
        done_at = time.monotonic()
        time.sleep(2)  # a second, wrong delivery would show up now
        log_a = (work / "worker-a.log").read_text(errors="replace")
    rows = reminder_rows(
        lab, database, "r.kind = 'review_due' AND u.username LIKE %s", [DRILL_USER_PREFIX + "%"]
    )
    result_a = exactly_once(lab, database, rows, since)
    report.figures["pool_process_killed"] = {
        "reminders": n,
        "notified_when_killed": at_kill,
        "killed_after_s": round(killed_at - sent_at, 1),
        "finished_after_kill_s": round(done_at - killed_at, 1) if finished else None,
        "worker_lost_logged": "WorkerLostError" in log_a,
        "exactly_once": result_a,
    }
    report.check(
        "(a) pool process SIGKILLed mid-run: requeued, finished, each reminder exactly once",
        finished and once_ok(result_a),
        f"killed at {at_kill}/{n} notified ({killed_at - sent_at:.1f} s into the run); "
        f"{'WorkerLostError logged, ' if 'WorkerLostError' in log_a else ''}"
        f"the rest done {done_at - killed_at:.1f} s later; " + once_figures(result_a),
    )

    # (b) The whole worker dies; another worker gets the unacknowledged task back after the
    # visibility timeout.
    visibility = args.visibility_timeout
    env_b = {**env, "CELERY_VISIBILITY_TIMEOUT": str(visibility)}
    shell_json(env, MAKE_REMINDERS.format(n=n, kind="review_upcoming", prefix=DRILL_USER_PREFIX))
    since = audit_mark(lab, database)
    with Supervisor(work) as supervisor:
        first = supervisor.start_celery("worker-b1", worker_args("worker-b1", 1), env_b)
        sent_at = time.monotonic()
        shell_json(env, TRIGGER_SCRIPT.format(n=1))
        at_kill = mid_run("review_upcoming")
        os.killpg(first.pid, signal.SIGKILL)  # main process and pool together
        first.wait(timeout=10)
        killed_at = time.monotonic()
        # The replacement comes up once the message's visibility timeout has passed: a
        # worker restores overdue unacknowledged messages when it starts (and, once running,
        # only every ~100 s: kombu's unacked_restore_interval × unacked_restore_throttle).
        time.sleep(visibility + 1)
        supervisor.start_celery("worker-b2", worker_args("worker-b2", 1), env_b)
        finished = wait_until(
            lambda: progress(lab, database, "review_upcoming")[0] == n, visibility + 150
        )
        done_at = time.monotonic()
        time.sleep(2)
    rows = reminder_rows(
        lab,
        database,
        "r.kind = 'review_upcoming' AND u.username LIKE %s",
        [DRILL_USER_PREFIX + "%"],
    )
    result_b = exactly_once(lab, database, rows, since)
    report.figures["whole_worker_killed"] = {
        "reminders": n,
        "visibility_timeout_s": visibility,
        "notified_when_killed": at_kill,
        "finished_after_kill_s": round(done_at - killed_at, 1) if finished else None,
        "exactly_once": result_b,
    }
    report.figures["setup"] = setup
    report.check(
        "(b) whole worker SIGKILLed mid-run: redelivered after the visibility timeout, "
        "each reminder exactly once",
        finished and once_ok(result_b),
        f"killed at {at_kill}/{n} notified; a new worker finished it "
        f"{done_at - killed_at:.1f} s later (visibility timeout {visibility} s); "
        + once_figures(result_b),
    )


# --- 4. Two workers, 10,000 reminders --------------------------------------------------------


def drill_two_workers_10k(lab: Lab, report: Report, args) -> None:
    database = lab.database("drill_two_workers")
    lab.redis.flush()
    env = lab.env(database)
    work = lab.logs("two_workers_10k")
    n = args.reminders
    setup = shell_json(env, MAKE_REMINDERS.format(n=n, kind="review_due", prefix=DRILL_USER_PREFIX))
    since = audit_mark(lab, database)
    runs_sent = 8
    with Supervisor(work) as supervisor:
        for name in ("worker1", "worker2"):
            supervisor.start_celery(name, worker_args(name, 2), env)
        sent_at = time.monotonic()
        task_ids = shell_json(env, TRIGGER_SCRIPT.format(n=runs_sent))
        finished = wait_until(lambda: progress(lab, database, "review_due")[0] == n, 360, 0.5)
        done_at = time.monotonic()

        def all_runs_done() -> bool:
            runs = {}
            for name in ("worker1", "worker2"):
                runs.update(task_runs(work / f"{name}.log", "reviews.tasks.run_reminders"))
            return set(task_ids) <= set(runs) and all(r["finished"] for r in runs.values())

        wait_until(all_runs_done, 60, 0.5)
        per_worker: dict[str, list[int]] = {}
        for name in ("worker1", "worker2"):
            runs = task_runs(work / f"{name}.log", "reviews.tasks.run_reminders").values()
            per_worker[name] = [
                (r.get("result") or {}).get("notified", 0) for r in runs if r.get("ok")
            ]
    rows = reminder_rows(
        lab, database, "r.kind = 'review_due' AND u.username LIKE %s", [DRILL_USER_PREFIX + "%"]
    )
    result = exactly_once(lab, database, rows, since)
    seconds = done_at - sent_at
    report.figures.update(
        {
            "setup": setup,
            "runs_sent": runs_sent,
            "seconds_to_deliver_all": round(seconds, 1) if finished else None,
            "per_second": round(n / seconds) if finished else None,
            "notified_per_run": per_worker,
            "exactly_once": result,
        }
    )
    counted = sum(sum(v) for v in per_worker.values())
    report.check(
        "both workers claimed reminders concurrently",
        all(sum(v) > 0 for v in per_worker.values()) and counted == n,
        f"{runs_sent} runs sent at once; notified per run: "
        + ", ".join(f"{w} {v}" for w, v in per_worker.items())
        + f" (total {counted})",
    )
    report.check(
        f"{n:,} reminders delivered, zero double deliveries",
        finished and once_ok(result),
        f"all delivered in {seconds:.1f} s ({n / seconds:.0f}/s); " + once_figures(result)
        if finished
        else "not all delivered within 360 s; " + once_figures(result),
    )


# --- 5. Backup while writing, restore, compare -----------------------------------------------


def checksums(connection) -> dict[str, list]:
    """Row count and an order-independent md5 of every table's rows, in the connection's
    current snapshot."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    ]
    sums = {}
    for table in tables:
        count, digest = connection.execute(
            f"SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))),"
            f" '') FROM \"{table}\" t"
        ).fetchone()
        sums[table] = [count, digest]
    return sums


def make(target: str, env: dict[str, str], *variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--silent", "--no-print-directory", target, *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def drill_backup_restore(lab: Lab, report: Report, args) -> None:
    import psycopg

    database = lab.database("drill_backup")
    restored = "drill_restored"
    with lab.pg.connect("postgres") as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    port = free_port()
    env = lab.env(database, port)
    tool_env = {**env, "BACKUP_DIR": str(lab.work / "backups")}
    marker = f"drill-backup-{lab.run_id}"
    with Supervisor(lab.logs("backup_restore")) as supervisor:
        supervisor.start_gunicorn("web", env)
        with Load(port, lab.relationships, marker, clients=2, pages=(), pace=0.02) as load:
            time.sleep(3)
            snapshot_connection = psycopg.connect(lab.pg.url(database))
            try:
                snapshot_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                snapshot = snapshot_connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
                expected = checksums(snapshot_connection)
                dump_started = time.monotonic()
                backup = make("backup", tool_env, f"SNAPSHOT={snapshot}")
                dump_ended = time.monotonic()
            finally:
                snapshot_connection.close()
            written_during_dump = [
                s for s in load.between(dump_started, dump_ended) if s.summary and s.status == 302
            ]
            time.sleep(1)
        with lab.pg.connect(database) as connection:
            live = checksums(connection)
    dump = re.search(r"wrote (\S+\.dump)", backup.stdout)
    report.check(
        "make backup while clients write",
        backup.returncode == 0 and dump,
        f"{backup.stdout.strip() or backup.stderr.strip()}; {len(written_during_dump)} writes "
        f"acknowledged while it ran",
    )
    if not dump:
        return
    dump_path = str(lab.work / "backups" / Path(dump.group(1)).name)
    target_url = lab.pg.url(restored)
    restore_env = {**tool_env, "TARGET_DATABASE_URL": target_url}
    started = time.monotonic()
    first = make("restore", restore_env, f"FILE={dump_path}")
    restore_seconds = time.monotonic() - started
    with lab.pg.connect(restored) as connection:
        got = checksums(connection)
    mismatched = sorted(t for t in expected if got.get(t) != expected[t])
    changed_since = sorted(t for t in expected if live.get(t) != expected[t])
    rows = sum(count for count, _ in expected.values())
    report.figures.update(
        {
            "tables": len(expected),
            "rows": rows,
            "dump_seconds": round(dump_ended - dump_started, 2),
            "restore_seconds": round(restore_seconds, 2),
            "dump_bytes": Path(dump_path).stat().st_size,
            "writes_acknowledged_during_dump": len(written_during_dump),
            "tables_changed_since_snapshot": changed_since,
        }
    )
    report.check(
        "make restore into a new database reproduces the snapshot",
        first.returncode == 0 and not mismatched and set(got) == set(expected),
        f"{first.stdout.strip() or first.stderr.strip()}; {len(expected)} tables, {rows:,} rows: "
        f"{len(expected) - len(mismatched)} match in row count and checksum, "
        f"{len(mismatched)} differ {mismatched[:5]}; meanwhile the live database moved on in "
        f"{len(changed_since)} tables ({', '.join(changed_since[:3])}…)",
        mismatched=mismatched,
    )
    again = make("restore", restore_env, f"FILE={dump_path}")
    report.check(
        "make restore refuses a database that is not empty",
        again.returncode != 0 and "not empty" in again.stderr,
        (again.stderr.strip().splitlines() or ["(no message)"])[0],
    )
    forced = make("restore", restore_env, f"FILE={dump_path}", "FORCE=1")
    with lab.pg.connect(restored) as connection:
        got = checksums(connection)
    report.check(
        "make restore FORCE=1 replaces it, same checksums",
        forced.returncode == 0 and got == expected,
        f"{forced.stdout.strip() or forced.stderr.strip()}; "
        f"{sum(1 for t in expected if got.get(t) == expected[t])}/{len(expected)} tables match",
    )
    check_writes(report, lab, database, load)


# --- Running them ----------------------------------------------------------------------------


RUNNERS: dict[str, Callable[[Lab, Report, argparse.Namespace], None]] = {
    "pg_restart": drill_pg_restart,
    "redis_outage": drill_redis_outage,
    "worker_kill": drill_worker_kill,
    "two_workers_10k": drill_two_workers_10k,
    "backup_restore": drill_backup_restore,
}


def run_drill(name: str, lab: Lab, args) -> Report:
    report = Report(name)
    print(f"\n== {name} ==", flush=True)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(DRILL_TIMEOUTS[name])
    try:
        RUNNERS[name](lab, report, args)
    except (Exception, SystemExit) as exc:  # one drill failing must not skip the others
        detail = traceback.format_exc()
        (lab.work / f"{name}-error.txt").write_text(detail)
        report.check("the drill ran to the end", False, f"{exc.__class__.__name__}: {exc}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # A drill that stopped PostgreSQL or killed Redis must leave them running for the next.
    if lab.pg.process is None or lab.pg.process.poll() is not None:
        lab.pg.start()
    if lab.redis.process is None or lab.redis.process.poll() is not None:
        lab.redis.start()
    report.figures["seconds"] = round(time.monotonic() - started, 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("drills", nargs="*", metavar="drill",
                        help=f"which drills (default all): {', '.join(DRILLS)}")  # fmt: skip
    parser.add_argument("--clients", type=int, default=4, help="load threads (pg_restart)")
    parser.add_argument("--pg-down", type=float, default=5.0, help="seconds PostgreSQL is down")
    parser.add_argument("--pg-stop-mode", choices=["fast", "immediate"], default="fast")
    parser.add_argument("--redis-down", type=float, default=30.0, help="seconds Redis is down")
    parser.add_argument("--beat-interval", type=float, default=5.0)
    parser.add_argument("--reminders", type=int, default=10_000, help="for two_workers_10k")
    # Enough that the run (batched: thousands a second) lasts long enough to be caught midway.
    parser.add_argument("--kill-reminders", type=int, default=10_000, help="for worker_kill")
    parser.add_argument("--visibility-timeout", type=int, default=15, help="for worker_kill (b)")
    args = parser.parse_args()
    unknown = [name for name in args.drills if name not in DRILLS]
    if unknown:
        parser.error(f"no drill named {', '.join(unknown)} (choose from {', '.join(DRILLS)})")
    chosen = args.drills or DRILLS

    run_id = datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix=f"rapport-drills-{run_id}-"))
    work.chmod(0o755)  # the PostgreSQL cluster inside belongs to the postgres user
    print(f"drills: run {run_id}; logs in {work}", flush=True)
    lab = Lab(
        work=work,
        pg=PrivatePostgres(work, free_port(), work / "postgres.log"),
        redis=PrivateRedis(work, free_port(), work / "redis.log"),
        run_id=run_id,
    )
    reports: list[Report] = []
    facts: dict = {"load_average_before": load_average()}
    # Ctrl-C and SIGTERM unwind through the finally blocks: no server is left behind.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        facts.update(prepare(lab))
        for name in chosen:
            reports.append(run_drill(name, lab, args))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        lab.redis.kill()
        lab.pg.destroy()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    facts["load_average_after"] = load_average()

    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"drills-{run_id}.json"
    output.write_text(
        json.dumps(
            {
                "when": run_id,
                "cpus": os.cpu_count(),
                **facts,
                "drills": [
                    {"drill": r.drill, "ok": r.ok, "figures": r.figures, "checks": r.checks}
                    for r in reports
                ],
                "logs": str(work),
            },
            indent=2,
            default=str,
        )
    )
    print("\n" + f"{'drill':<17}{'result':<8}{'seconds':>8}  checks")
    for report in reports:
        passed = sum(c["ok"] for c in report.checks)
        print(
            f"{report.drill:<17}{'PASS' if report.ok else 'FAIL':<8}"
            f"{report.figures.get('seconds', 0):>8.1f}  {passed}/{len(report.checks)}"
        )
    print(f"\ndrills: wrote {output.relative_to(ROOT)}; logs in {work}")
    failed = [r for r in reports if not r.ok]
    print(f"drills: {'PASS' if not failed else 'FAIL'} ({len(reports) - len(failed)}/"
          f"{len(reports)} drills passed)")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

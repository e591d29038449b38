"""`make bench`: Rapport's pages as users meet them, measured against a real server.

Datasets: small (`seed_demo --scale small`, database rapport_bench_small) and large
(`--scale large`, rapport_bench); with --xlarge also xlarge (rapport_bench_xlarge).

1. For each dataset: creates the database if missing, migrates, seeds it if incomplete
   (printing the seed's time), flushes its own Redis database and starts its own gunicorn
   with production settings plus RAPPORT_BENCH (X-Query-Count header, no-database floor).
2. Signs in the viewers (`manager`, `executive`) and their colleagues, each in a session of
   their own: the teammate `contributor` logs interactions where the manager looks,
   `manager2` logs them where the executive looks and records KPI measurements under the
   objective tree, through the quick-log form as htmx posts it and the KPI form.
3. Measures two floors (the no-database view; the signed-in notification badge), then every
   page cold and warm, interleaved: cold = a colleague's write just before the read, warm =
   the same read again with no write in between. The datasets are interleaved too, read by
   read, so that their comparison does not measure the machine's load moving in between.
4. Loads the dashboard as a browser does: the page, then every fragment it asks for with
   hx-trigger "load" (deferred charts, the notification badge) over six parallel
   connections; wall time from the first byte requested to the last fragment received.
5. Compares the datasets: large ÷ small and xlarge ÷ large, cold p50 per page.
6. On the large dataset alone: requests per second at 8 connections (~10 s each) for the
   signed-in floor, the relationship list, the quick-log POST and the API create; then, with
   the servers stopped, the reminder scan in-process.

Prints one table per section with each target beside its figures (pass/miss) and writes the
whole as JSON under bench/results/ (git-ignored). Figures are reported, not asserted: the
suite pins query counts. The measuring client runs on the same CPUs as the server.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from common import (
    DEFAULT_DB,
    DEFAULT_REDIS,
    RESULTS,
    ROOT,
    Client,
    Supervisor,
    ensure_database,
    free_port,
    load_average,
    manage,
    prepare,
    server_env,
    shell_json,
)

# Issue #15: what a user should meet. Pages are judged cold (after a colleague's write).
TARGET_PAGE_P95_MS = 150.0
TARGET_BROWSER_P95_MS = 250.0
TARGET_GROWTH_LARGE = 2.0  # large ÷ small, cold p50
TARGET_GROWTH_XLARGE = 1.5  # xlarge ÷ large, cold p50
TARGET_QUERIES = 12
TARGET_LIST_RPS = 100.0
THROUGHPUT_CONNECTIONS = 8
# What a browser opens to one host over HTTP/1.1; htmx's load triggers share them.
BROWSER_CONNECTIONS = 6

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
HTMX = {"HX-Request": "true"}
SIGNED_IN_FLOOR = "/notifications/badge/"


@dataclass(frozen=True)
class Dataset:
    label: str
    scale: str
    database_url: str
    redis_url: str


def datasets(names: Sequence[str]) -> list[Dataset]:
    """Each dataset has its own database and its own Redis database: cached figures of one
    must never answer for another."""
    base = DEFAULT_DB.rsplit("/", 1)[0]
    redis_base = DEFAULT_REDIS.rsplit("/", 1)[0]
    known = {
        "small": Dataset(
            "small",
            "small",
            os.environ.get("BENCH_SMALL_DATABASE_URL", f"{base}/rapport_bench_small"),
            os.environ.get("BENCH_SMALL_REDIS_URL", f"{redis_base}/11"),
        ),
        "large": Dataset(
            "large",
            "large",
            os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
            os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        ),
        "xlarge": Dataset(
            "xlarge",
            "xlarge",
            os.environ.get("BENCH_XLARGE_DATABASE_URL", f"{base}/rapport_bench_xlarge"),
            os.environ.get("BENCH_XLARGE_REDIS_URL", f"{redis_base}/12"),
        ),
    }
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"bench: unknown dataset(s) {', '.join(unknown)} (small, large, xlarge)")
    return [known[name] for name in ("small", "large", "xlarge") if name in names]


# --- Setup in the benchmark database ---------------------------------------------------

SETUP_SCRIPT = """
import json
from datetime import timedelta
from django.db.models import Count
from django.utils import timezone
from accounts.models import ApiToken, User
from accounts.tokens import token_create, token_revoke
from plans.models import Objective, Plan
from relationships.models import Relationship, Stage

# Tokens of earlier runs that did not get to revoke theirs (at most 20 active per user).
for old in ApiToken.objects.filter(name__startswith="bench ", revoked_at__isnull=True):
    token_revoke(token=old, by=old.user)
manager = User.objects.get(username="manager")
team = manager.teams.values_list("pk", flat=True).first()
other_team = User.objects.get(username="manager2").teams.values_list("pk", flat=True).first()
open_ = Relationship.objects.exclude(stage=Stage.ENDED)
busiest = (open_.filter(manager=manager, team_id=team).annotate(n=Count("interactions"))
           .order_by("-n", "pk").values_list("pk", flat=True).first())

def pool(team_id):
    return list(open_.filter(team_id=team_id).order_by("pk").values_list("pk", flat=True)[:40])

plan = Plan.objects.annotate(n=Count("initiatives")).order_by("-n", "pk").first()
kpis = Objective.objects.exclude(kpi_name="").filter(kpi_target__isnull=False).order_by("pk")
objective = (plan and kpis.filter(plans=plan).first()) or kpis.first()
_, raw = token_create(user=manager, name="bench {stamp}",
                      expires_at=timezone.now() + timedelta(hours=6))
print(json.dumps({{
    "relationship": busiest, "team": team, "plan": plan and plan.pk,
    "objective": objective and objective.pk,
    "teammate_pool": pool(team), "colleague_pool": pool(other_team), "token": raw,
    "relationships": Relationship.objects.count(),
}}))
"""

FINISH_SCRIPT = """
import json
from accounts.models import ApiToken
from accounts.tokens import token_revoke
from plans.models import KpiMeasurement
from relationships.models import Interaction

revoked = 0
for token in ApiToken.objects.filter(name={token_name!r}, revoked_at__isnull=True):
    token_revoke(token=token, by=token.user)
    revoked += 1
print(json.dumps({{
    "interactions": Interaction.objects.filter(summary__startswith={marker!r}).count(),
    "measurements": KpiMeasurement.objects.filter(note__startswith={marker!r}).count(),
    "tokens_revoked": revoked,
}}))
"""


def flush_redis(url: str) -> None:
    """The dataset's own cache and broker: nothing cached for an earlier seed of the same
    database may answer, and the tasks the writes enqueue (no worker runs) do not pile up."""
    import redis

    redis.Redis.from_url(url).flushdb()


# --- Requests --------------------------------------------------------------------------


@dataclass
class Sample:
    ms: float
    status: int
    queries: int | None


def _queries(response: http.client.HTTPResponse) -> int | None:
    header = response.getheader("X-Query-Count")
    return int(header) if header is not None else None


def get(client: Client, path: str, htmx: bool = False) -> Sample:
    response, _, elapsed = client.request("GET", path, headers=HTMX if htmx else None)
    return Sample(elapsed, response.status, _queries(response))


def origin(client: Client) -> str:
    return f"https://127.0.0.1:{client.port}"


def csrf_token(client: Client) -> str:
    """The page's token for form posts (every signed-in page has one: the sign-out form)."""
    _, page, _ = client.request("GET", "/accounts/profile/")
    match = CSRF.search(page)
    if not match:
        raise SystemExit("bench: no CSRF token on /accounts/profile/")
    return match.group(1).decode()


def yesterday() -> str:
    # Never "today": the server's day (TIME_ZONE) may differ from this machine's.
    return (date.today() - timedelta(days=1)).isoformat()


def quick_log(client: Client, token: str, relationship: int, summary: str) -> bool:
    """The quick-log form as htmx posts it from the relationship page; True if logged."""
    detail = f"/relationships/{relationship}/"
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "occurred_on": yesterday(),
            "channel": random.choice(["meeting", "call", "email"]),
            "summary": summary,
            "sentiment": random.choice([-1, 0, 1, 2]),
        }
    )
    response, content, _ = client.request(
        "POST",
        f"{detail}interactions/new/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin(client),
            "Referer": origin(client) + detail,
            **HTMX,
            "HX-Current-URL": origin(client) + detail,
            "HX-Target": "quick-log",
        },
    )
    # A refused form answers 200 too, but only a logged entry swaps other sections.
    return response.status == 200 and b"hx-swap-oob" in content


def api_log(client: Client, token: str, relationship: int, summary: str) -> bool:
    body = json.dumps(
        {
            "relationship": relationship,
            "occurred_on": yesterday(),
            "channel": "email",
            "summary": summary,
            "sentiment": 1,
        }
    )
    response, _, _ = client.request(
        "POST",
        "/api/v1/interactions/",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    return response.status == 201


def kpi_measure(client: Client, token: str, objective: int, note: str) -> bool:
    response, _, _ = client.request(
        "POST",
        f"/plans/objectives/{objective}/measurements/",
        body=urlencode(
            {
                "csrfmiddlewaretoken": token,
                "measured_on": yesterday(),
                "value": f"{random.uniform(0, 100):.2f}",
                "note": note,
            }
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin(client),
            "Referer": f"{origin(client)}/plans/objectives/{objective}/",
        },
    )
    return response.status == 302


class Colleague:
    """Another signed-in user whose write comes just before each cold read, through the
    same form a user submits, on the records the page's viewer sees."""

    def __init__(self, client: Client, kind: str, targets: list[int], marker: str):
        self.client = client
        self.kind = kind  # "interaction" or "measurement"
        self.targets = itertools.cycle(targets)
        self.marker = marker
        self.token = csrf_token(client)
        self.written = 0
        self.failed = 0

    def write(self) -> None:
        target = next(self.targets)
        text = f"{self.marker} cold write {self.written + self.failed + 1}"
        if self.kind == "measurement":
            ok = kpi_measure(self.client, self.token, target, text)
        else:
            ok = quick_log(self.client, self.token, target, text)
        if ok:
            self.written += 1
        else:
            self.failed += 1


# --- Pages, cold and warm --------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    viewer: str  # "manager" or "executive"
    writer: str  # a key of the colleagues: whose write makes the read cold
    htmx: bool = False  # a fragment requested as htmx requests it


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Figures:
    p50_ms: float
    p95_ms: float
    queries: int | None  # the most any request ran
    errors: int  # responses other than 200
    statuses: dict[str, int] = field(default_factory=dict)  # those responses, by status

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Figures:
        counts = [s.queries for s in samples if s.queries is not None]
        bad = [str(s.status) for s in samples if s.status != 200]
        return cls(
            round(statistics.median(s.ms for s in samples), 1),
            round(percentile([s.ms for s in samples], 0.95), 1),
            max(counts) if counts else None,
            len(bad),
            {status: bad.count(status) for status in sorted(set(bad))},
        )


@dataclass
class PageResult:
    name: str
    path: str
    viewer: str
    writer: str
    requests: int  # of each kind, cold and warm
    cold: Figures
    warm: Figures
    cold_to_floor: float | None = None
    cold_to_signed_in: float | None = None
    targets: dict[str, bool] = field(default_factory=dict)


def measure_page(
    legs: Sequence[tuple[Page, Client, Colleague]], n: int, warmup: int
) -> list[PageResult]:
    """One page on every dataset (a leg each). Cold and warm reads are interleaved, and so
    are the datasets, read by read: all of them meet the same machine load, which on a
    shared machine moves more in a minute than the data makes pages grow."""
    for page, client, _ in legs:
        for _ in range(warmup):
            get(client, page.path, page.htmx)
    cold: list[list[Sample]] = [[] for _ in legs]
    warm: list[list[Sample]] = [[] for _ in legs]
    for _ in range(n):
        for k, (page, client, colleague) in enumerate(legs):
            colleague.write()
            cold[k].append(get(client, page.path, page.htmx))
            warm[k].append(get(client, page.path, page.htmx))
    results = []
    for k, (page, _, _) in enumerate(legs):
        result = PageResult(
            page.name, page.path, page.viewer, page.writer, n, Figures.of(cold[k]),
            Figures.of(warm[k]),
        )  # fmt: skip
        result.targets = {
            "cold p95": result.cold.p95_ms <= TARGET_PAGE_P95_MS and not result.cold.errors,
            "queries": max(result.cold.queries or 0, result.warm.queries or 0) <= TARGET_QUERIES,
        }
        results.append(result)
    return results


def measure_floor(
    name: str, path: str, clients: Sequence[Client], n: int, warmup: int, htmx: bool
) -> list[dict]:
    """A floor on every dataset, alternating like the pages."""
    for client in clients:
        for _ in range(warmup):
            get(client, path, htmx)
    samples: list[list[Sample]] = [[] for _ in clients]
    for _ in range(n):
        for k, client in enumerate(clients):
            samples[k].append(get(client, path, htmx))
    return [
        {"name": name, "path": path, "requests": n, **asdict(Figures.of(runs))} for runs in samples
    ]


# --- The dashboard as a browser loads it ---------------------------------------------------


class _LoadTriggers(HTMLParser):
    """The URLs htmx requests as soon as the page is in: hx-get with a "load" trigger."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url, trigger = values.get("hx-get"), values.get("hx-trigger") or ""
        if url and any(part.split()[:1] == ["load"] for part in trigger.split(",")):
            self.urls.append(url)


def load_triggered(html: bytes) -> list[str]:
    parser = _LoadTriggers()
    parser.feed(html.decode(errors="replace"))
    return parser.urls


class Browser:
    """One signed-in browser with its parallel connections to the host; the page's own
    connection carries fragments too once the page is in."""

    def __init__(self, client: Client, connections: int = BROWSER_CONNECTIONS):
        self.connections = [client] + [client.fork() for _ in range(connections - 1)]
        self.pool = ThreadPoolExecutor(max_workers=connections)

    def close(self) -> None:
        self.pool.shutdown()

    def load(self, path: str) -> tuple[float, list[Sample], list[str]]:
        """Wall time (ms) for the page and every fragment it triggers on load."""
        started = time.perf_counter()
        response, content, elapsed = self.connections[0].request("GET", path)
        page = Sample(elapsed, response.status, _queries(response))
        urls = load_triggered(content)
        shares = [urls[i :: len(self.connections)] for i in range(len(self.connections))]
        futures = [
            self.pool.submit(lambda c=c, share=share: [get(c, url, htmx=True) for url in share])
            for c, share in zip(self.connections, shares, strict=True)
            if share
        ]
        fragments = [sample for future in futures for sample in future.result()]
        wall = (time.perf_counter() - started) * 1000
        return wall, [page, *fragments], urls


@dataclass
class BrowserResult:
    name: str
    path: str
    fragments: list[str]
    requests: int
    cold: Figures  # over the wall times; queries are the sum over page and fragments
    warm: Figures
    targets: dict[str, bool] = field(default_factory=dict)


def measure_browser(
    name: str, legs: Sequence[tuple[str, Browser, Colleague]], n: int, warmup: int
) -> list[BrowserResult]:
    """The dashboard loaded by a browser on every dataset (path, browser and colleague for
    each), cold and warm, alternating like the pages."""
    for path, browser, _ in legs:
        for _ in range(warmup):
            browser.load(path)
    runs: list[dict[str, list[Sample]]] = [{"cold": [], "warm": []} for _ in legs]
    fragments: list[list[str]] = [[] for _ in legs]
    for _ in range(n):
        for k, (path, browser, colleague) in enumerate(legs):
            colleague.write()
            for kind in ("cold", "warm"):
                wall, samples, fragments[k] = browser.load(path)
                counts = [s.queries for s in samples if s.queries is not None]
                bad = [s.status for s in samples if s.status != 200]
                runs[k][kind].append(Sample(wall, bad[0] if bad else 200, sum(counts)))
    results = []
    for k, (path, _, _) in enumerate(legs):
        result = BrowserResult(
            name, path, fragments[k], n, Figures.of(runs[k]["cold"]), Figures.of(runs[k]["warm"])
        )
        result.targets = {
            "cold p95": result.cold.p95_ms <= TARGET_BROWSER_P95_MS and not result.cold.errors
        }
        results.append(result)
    return results


# --- Throughput ----------------------------------------------------------------------------


def throughput(
    name: str,
    clients: list[Client],
    work: Callable[[Client, int, int], bool],
    seconds: float,
) -> dict:
    """Each connection sends its next request as soon as the last one is answered."""
    counts = [[0, 0] for _ in clients]  # [succeeded, failed] per connection
    start = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def run(index: int) -> None:
        client = clients[index]
        start.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            try:
                ok = work(client, index, n)
            except (OSError, http.client.HTTPException):
                ok = False
            counts[index][0 if ok else 1] += 1
            n += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started  # includes the requests still answering at the end
    done = sum(ok for ok, _ in counts)
    errors = sum(bad for _, bad in counts)
    return {
        "name": name,
        "connections": len(clients),
        "seconds": round(wall, 1),
        "requests": done + errors,
        "errors": errors,
        "rps": round((done + errors) / wall, 1),
    }


def measure_throughput(
    port: int, manager: Client, ids: dict, api_token: str, marker: str, seconds: float
) -> list[dict]:
    conns = THROUGHPUT_CONNECTIONS
    pool = ids["teammate_pool"]
    browsers = [manager.fork() for _ in range(conns)]
    token = csrf_token(manager)
    api_clients = [Client(port) for _ in range(conns)]

    def target(index: int, n: int) -> int:
        # Spread over the pool so the connections rarely write to the same relationship.
        return pool[(index * 5 + n) % len(pool)]

    runs = [
        ("signed-in floor (notification badge)", browsers,
         lambda c, i, n: get(c, SIGNED_IN_FLOOR, htmx=True).status == 200),
        ("relationship list (GET)", browsers,
         lambda c, i, n: get(c, "/relationships/").status == 200),
        ("quick-log interaction (htmx POST)", browsers,
         lambda c, i, n: quick_log(c, token, target(i, n), f"{marker} quick-log {i}-{n}")),
        ("API create interaction (POST, token)", api_clients,
         lambda c, i, n: api_log(c, api_token, target(i, n), f"{marker} API {i}-{n}")),
    ]  # fmt: skip
    results = []
    for name, clients, work in runs:
        result = throughput(name, clients, work, seconds)
        results.append(result)
        print(f"bench: {name}: {result['rps']} req/s, {result['errors']} errors", flush=True)
    floor = results[0]["rps"]
    for result in results:
        result["to_signed_in_floor"] = round(result["rps"] / floor, 2) if floor else None
        if result["name"].startswith("relationship list"):
            result["targets"] = {"req/s": result["rps"] >= TARGET_LIST_RPS and not result["errors"]}
    return results


# --- Reminder scan (unchanged: in-process on the full dataset) ---------------------------------


def time_reminder_scan(env: dict[str, str], runs: int = 3) -> list[dict]:
    """The reminder scan on the full dataset (rolled back each time), then the whole hourly
    run: the first one catches up on everything owed, later ones find the steady state."""
    script = f"""
import json, time
from django.db import transaction
from reviews import reminders
from reviews.models import Reminder
out = {{"reminder scan": []}}
for _ in range({runs}):
    with transaction.atomic():
        started = time.perf_counter()
        reminders.reminders_scan()
        out["reminder scan"].append((time.perf_counter() - started) * 1000)
        transaction.set_rollback(True)
label = "hourly run, steady state" if Reminder.objects.exists() else "hourly run, first (catch-up)"
started = time.perf_counter()
summary = reminders.reminders_run()
out[label + f" {{summary}}"] = [(time.perf_counter() - started) * 1000]
print(json.dumps(out))
"""
    data = json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])
    return [
        {
            "name": name,
            "runs": len(timings),
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
        }
        for name, timings in data.items()
    ]


# --- One dataset -----------------------------------------------------------------------------


def page_plan(ids: dict, charts: list[str]) -> list[Page]:
    relationship, plan, team = ids["relationship"], ids["plan"], ids["team"]
    filtered = urlencode({"stage": "build", "team": team, "health": "fair"})
    dashboard_filter = urlencode({"period": "last_12_months", "team": team})
    # Plans pages turn cold on a KPI measurement; without a KPI, on a teammate's interaction.
    plans_writer = "KPI owner" if ids["objective"] else "teammate"
    pages = [
        Page("relationship list", "/relationships/", "manager", "teammate"),
        Page("relationship list, filtered", f"/relationships/?{filtered}", "manager", "teammate"),
        Page("relationship list, by health", "/relationships/?sort=health", "manager", "teammate"),
        Page("stakeholder list, by value fit", "/stakeholders/?sort=-fit", "manager", "teammate"),
        Page("relationship detail (long timeline)", f"/relationships/{relationship}/",
             "manager", "teammate, on it"),
        Page("board", "/relationships/board/", "manager", "teammate"),
        Page("objective tree", "/plans/", "manager", plans_writer),
        Page("plan page", f"/plans/{plan}/", "manager", plans_writer),
        Page("global search", "/search/?q=heron", "manager", "teammate"),
        Page("manager home", "/", "manager", "teammate"),
        Page("executive dashboard (page only)", "/dashboard/", "executive", "colleague"),
        Page("executive dashboard, filtered (page only)", f"/dashboard/?{dashboard_filter}",
             "executive", "colleague"),
    ]  # fmt: skip
    for url in charts:
        chart = url.split("/chart/", 1)[1].split("/", 1)[0]
        pages.append(Page(f"dashboard chart '{chart}' (deferred)", url, "executive", "colleague",
                          htmx=True))  # fmt: skip
    pages += [
        Page("API relationships list", "/api/v1/relationships/", "manager", "teammate"),
        Page("API interactions list", "/api/v1/interactions/", "manager", "teammate"),
    ]
    return [page for page in pages if page.path != "/plans/None/"]


class Bench:
    """One dataset's database, server and signed-in sessions, ready to be measured."""

    def __init__(self, dataset: Dataset, stamp: str, supervisor: Supervisor):
        self.dataset = dataset
        self.supervisor = supervisor
        self.marker = f"bench-{stamp}"
        self.token_name = f"bench {stamp}"
        print(f"bench: {dataset.label} dataset ({dataset.database_url.rsplit('/', 1)[-1]})")
        if ensure_database(dataset.database_url):
            print(f"bench: created the database for the {dataset.label} dataset", flush=True)
        self.port = free_port()
        self.env = server_env(dataset.database_url, dataset.redis_url, self.port)
        self.env["GUNICORN_THREADS"] = os.environ.get("BENCH_THREADS", "1")
        flush_redis(dataset.redis_url)
        facts = prepare(self.env, dataset.scale)
        self.ids = shell_json(self.env, SETUP_SCRIPT.format(stamp=stamp))
        self.api_token = self.ids.pop("token")  # never in the results
        name = f"gunicorn-{dataset.label}"
        self.out: dict = {
            "dataset": dataset.label,
            "database": dataset.database_url.rsplit("/", 1)[-1],
            **facts,
            "server": {
                "workers": self.env["WEB_CONCURRENCY"],
                "threads": self.env["GUNICORN_THREADS"],
                "log": str(supervisor.log(name)),
            },
            "ids": {k: v for k, v in self.ids.items() if not k.endswith("_pool")},
            "floors": [],
            "pages": [],
            "browser": [],
        }
        self.server = supervisor.start_gunicorn(name, self.env)
        self.browsers: list[Browser] = []

    def sign_in(self) -> None:
        self.clients = {
            name: Client(self.port) for name in ("manager", "executive", "contributor", "manager2")
        }
        for username, client in self.clients.items():
            client.sign_in(username)
        ids, marker = self.ids, self.marker
        contributor, manager2 = self.clients["contributor"], self.clients["manager2"]
        self.colleagues = {
            "teammate": Colleague(contributor, "interaction", ids["teammate_pool"], marker),
            "teammate, on it": Colleague(contributor, "interaction", [ids["relationship"]], marker),
            "colleague": Colleague(manager2, "interaction", ids["colleague_pool"], marker),
        }
        if ids["objective"]:
            self.colleagues["KPI owner"] = Colleague(
                manager2, "measurement", [ids["objective"]], marker
            )
        response, html, _ = self.clients["executive"].request("GET", "/dashboard/")
        self.charts = [url for url in load_triggered(html) if "/dashboard/chart/" in url]
        if response.status != 200 or not self.charts:
            print(
                f"bench: WARNING: {self.dataset.label}: the dashboard answered "
                f"{response.status} with {len(self.charts)} deferred charts; see "
                f"{self.out['server']['log']}",
                flush=True,
            )

    def pages(self) -> dict[str, Page]:
        return {page.name: page for page in page_plan(self.ids, self.charts)}

    def browser(self) -> Browser:
        browser = Browser(self.clients["executive"])
        self.browsers.append(browser)
        return browser

    def stop(self) -> None:
        for browser in self.browsers:
            browser.close()
        self.supervisor.stop(self.server)
        self.out["cold_writes"] = {
            name: {"written": c.written, "failed": c.failed}
            for name, c in getattr(self, "colleagues", {}).items()
        }
        # Revoke the run's token and count what it wrote, whatever happened before; a
        # failure here (the code changing under us, say) must not lose the figures.
        script = FINISH_SCRIPT.format(token_name=self.token_name, marker=self.marker)
        try:
            self.out["written"] = shell_json(self.env, script)
        except subprocess.CalledProcessError as error:
            self.out["written"] = {"error": (error.stderr or "")[-2000:]}
            print(
                f"bench: WARNING: {self.dataset.label}: could not count the rows written or "
                f"revoke the token '{self.token_name}' (the next run revokes it):\n"
                f"{(error.stderr or '')[-600:]}",
                flush=True,
            )


def wanted(args: argparse.Namespace, section: str) -> bool:
    """--only narrows the run to pages; a section runs with it only when named."""
    return not args.only or args.only in section


def _report(name: str, benches: Sequence[Bench], results: Sequence) -> None:
    figures = ", ".join(
        f"{bench.dataset.label} {result.cold.p50_ms} ms"
        for bench, result in zip(benches, results, strict=True)
    )
    print(f"bench: {name}: cold p50 {figures}", flush=True)


def measure_all(benches: list[Bench], heavy: Bench, args: argparse.Namespace) -> None:
    """Every figure, the datasets side by side (their servers all run; an idle one costs
    nothing), then throughput on one dataset alone."""
    n, warmup = args.requests, args.warmup
    floors = measure_floor(
        "floor (no database)", "/_bench/floor", [Client(b.port) for b in benches], n, warmup,
        htmx=False,
    )  # fmt: skip
    signed_in = measure_floor(
        "signed-in floor (notification badge)", SIGNED_IN_FLOOR,
        [b.clients["manager"] for b in benches], n, warmup, htmx=True,
    )  # fmt: skip
    for bench, floor, badge in zip(benches, floors, signed_in, strict=True):
        bench.out["floors"] = [floor, badge]

    plans = [bench.pages() for bench in benches]
    # Page names are the same on every dataset (only ids differ); a deferred chart one
    # dataset's dashboard failed to name is measured where it is named.
    for name in dict.fromkeys(name for plan in plans for name in plan):
        if args.only and args.only not in name:
            continue
        having = [(b, plan[name]) for b, plan in zip(benches, plans, strict=True) if name in plan]
        results = measure_page(
            [(page, b.clients[page.viewer], b.colleagues[page.writer]) for b, page in having],
            n,
            warmup,
        )
        for (bench, _), result in zip(having, results, strict=True):
            floor, badge = bench.out["floors"]
            result.cold_to_floor = round(result.cold.p50_ms / floor["p50_ms"], 1)
            result.cold_to_signed_in = round(result.cold.p50_ms / badge["p50_ms"], 1)
            bench.out["pages"].append(result)
        _report(name, [b for b, _ in having], results)

    for name, filtered in (
        ("dashboard as the browser loads it", False),
        ("dashboard, filtered, as the browser loads it", True),
    ):
        if args.only and args.only not in name:
            continue
        legs = []
        for bench in benches:
            query = {"period": "last_12_months", "team": bench.ids["team"]} if filtered else {}
            path = "/dashboard/" + (f"?{urlencode(query)}" if query else "")
            legs.append((path, bench.browser(), bench.colleagues["colleague"]))
        results = measure_browser(name, legs, n, warmup)
        for bench, result in zip(benches, results, strict=True):
            bench.out["browser"].append(result)
        _report(name, benches, results)

    if args.throughput_seconds > 0 and wanted(args, "throughput"):
        heavy.out["throughput"] = measure_throughput(
            heavy.port, heavy.clients["manager"], heavy.ids, heavy.api_token, heavy.marker,
            args.throughput_seconds,
        )  # fmt: skip


# --- Report ------------------------------------------------------------------------------------


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )

    print(f"\n{title}")
    print(line(cells[0]))
    print("-" * len(line(cells[0])))
    for row in cells[1:]:
        print(line(row))


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("pass" if ok else "MISS")


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_pages(data: dict) -> None:
    rows: list[list[object]] = [
        [f["name"], "", f["requests"], "", "", ms(f["p50_ms"]), ms(f["p95_ms"]), "", f["queries"],
         "", "", f["errors"], "", ""]
        for f in data["floors"]
    ]  # fmt: skip
    for r in data["pages"]:
        rows.append(
            [r.name, r.viewer, r.requests, ms(r.cold.p50_ms), ms(r.cold.p95_ms), ms(r.warm.p50_ms),
             ms(r.warm.p95_ms), r.cold.queries, r.warm.queries, r.cold_to_floor,
             r.cold_to_signed_in, r.cold.errors + r.warm.errors,
             verdict(r.targets["cold p95"]), verdict(r.targets["queries"])]
        )  # fmt: skip
    table(
        f"Pages, {data['dataset']} dataset ({data['ids']['relationships']:,} relationships): "
        f"ms; cold = after a colleague's write, warm = read again",
        ["page", "viewer", "n", "cold p50", "cold p95", "warm p50", "warm p95", "SQL cold",
         "SQL warm", "÷floor", "÷signed-in", "errors", f"p95≤{TARGET_PAGE_P95_MS:.0f}",
         f"SQL≤{TARGET_QUERIES}"],
        rows,
    )  # fmt: skip
    for r in data["pages"]:
        for kind, figures in (("cold", r.cold), ("warm", r.warm)):
            if figures.errors:
                print(
                    f"  errors: {r.name}, {kind}: {figures.statuses} (see {data['server']['log']})"
                )


def print_browser(results: list[dict]) -> None:
    rows = [
        [r.name, d["dataset"], len(r.fragments), r.requests, ms(r.cold.p50_ms), ms(r.cold.p95_ms),
         ms(r.warm.p50_ms), ms(r.warm.p95_ms), r.cold.queries, r.warm.queries,
         r.cold.errors + r.warm.errors, verdict(r.targets["cold p95"])]
        for d in results for r in d["browser"]
    ]  # fmt: skip
    table(
        f"Dashboard as the browser loads it: page + its load-triggered fragments over "
        f"{BROWSER_CONNECTIONS} connections, first byte requested to last fragment received (ms)",
        ["load", "dataset", "fragments", "n", "cold p50", "cold p95", "warm p50", "warm p95",
         "SQL cold", "SQL warm", "errors", f"p95≤{TARGET_BROWSER_P95_MS:.0f}"],
        rows,
    )  # fmt: skip
    for d in results:
        for r in d["browser"][:1]:
            print(f"  {d['dataset']}: fragments {', '.join(r.fragments)}")


def growth(results: list[dict]) -> list[dict]:
    """Cold p50 of each page on each dataset, and how it grows from one to the next."""
    by_dataset = {
        d["dataset"]: {r.name: r.cold.p50_ms for r in [*d["pages"], *d["browser"]]} for d in results
    }
    names = [r.name for d in results[:1] for r in [*d["pages"], *d["browser"]]]
    rows = []
    for name in names:
        row: dict = {"page": name}
        for label in ("small", "large", "xlarge"):
            row[label] = by_dataset.get(label, {}).get(name)
        for key, lower, upper, limit in (
            ("large÷small", "small", "large", TARGET_GROWTH_LARGE),
            ("xlarge÷large", "large", "xlarge", TARGET_GROWTH_XLARGE),
        ):
            if row[lower] and row[upper]:
                row[key] = round(row[upper] / row[lower], 2)
                row[f"{key} ok"] = row[key] <= limit
        rows.append(row)
    return rows


def print_growth(rows: list[dict], labels: list[str]) -> None:
    header = ["page", *(f"{label} p50" for label in labels)]
    if {"small", "large"} <= set(labels):
        header += ["large÷small", f"≤{TARGET_GROWTH_LARGE:g}×"]
    if {"large", "xlarge"} <= set(labels):
        header += ["xlarge÷large", f"≤{TARGET_GROWTH_XLARGE:g}×"]
    body = []
    for row in rows:
        line = [row["page"], *(ms(row[label]) for label in labels)]
        if {"small", "large"} <= set(labels):
            line += [row.get("large÷small"), verdict(row.get("large÷small ok"))]
        if {"large", "xlarge"} <= set(labels):
            line += [row.get("xlarge÷large"), verdict(row.get("xlarge÷large ok"))]
        body.append(line)
    table("Growth with the dataset: cold p50 (ms)", header, body)


def print_throughput(results: list[dict], data: dict) -> None:
    table(
        f"Throughput, {data['dataset']} dataset: {THROUGHPUT_CONNECTIONS} connections, each "
        f"sending its next request when answered (gunicorn {data['server']['workers']} workers × "
        f"{data['server']['threads']} threads)",
        ["request", "conns", "seconds", "requests", "errors", "req/s", "÷signed-in floor",
         f"≥{TARGET_LIST_RPS:.0f} req/s"],
        [[r["name"], r["connections"], r["seconds"], r["requests"], r["errors"], r["rps"],
          r["to_signed_in_floor"], verdict(r.get("targets", {}).get("req/s"))]
         for r in results],
    )  # fmt: skip
    print(
        f"  The client (Python threads) shares the machine's {os.cpu_count()} CPUs with gunicorn "
        "and PostgreSQL, so these figures understate what the server alone would sustain."
    )


def summary(results: list[dict], growth_rows: list[dict]) -> list[dict]:
    """Every target with how many figures meet it, judged on every dataset measured."""

    def check(name: str, outcomes: list[tuple[str, bool]]) -> dict:
        misses = [what for what, ok in outcomes if not ok]
        return {"target": name, "checked": len(outcomes), "missed": len(misses),
                "misses": misses}  # fmt: skip

    pages = [(d["dataset"], r) for d in results for r in d["pages"]]
    browser = [(d["dataset"], r) for d in results for r in d["browser"]]
    checks = [
        check(f"every page p95 ≤ {TARGET_PAGE_P95_MS:.0f} ms cold",
              [(f"{ds}: {r.name}", r.targets["cold p95"]) for ds, r in pages]),
        check(f"dashboard as the browser loads it p95 ≤ {TARGET_BROWSER_P95_MS:.0f} ms cold",
              [(f"{ds}: {r.name}", r.targets["cold p95"]) for ds, r in browser]),
        check(f"≤ {TARGET_QUERIES} queries per page",
              [(f"{ds}: {r.name}", r.targets["queries"]) for ds, r in pages]),
        check(f"growth large ÷ small ≤ {TARGET_GROWTH_LARGE:g}×",
              [(r["page"], r["large÷small ok"]) for r in growth_rows if "large÷small ok" in r]),
        check(f"growth large → xlarge ≤ {TARGET_GROWTH_XLARGE:g}×",
              [(r["page"], r["xlarge÷large ok"]) for r in growth_rows if "xlarge÷large ok" in r]),
        check(f"relationship list ≥ {TARGET_LIST_RPS:.0f} req/s at {THROUGHPUT_CONNECTIONS} "
              "connections",
              [(f"{d['dataset']}: {r['rps']} req/s", r["targets"]["req/s"])
               for d in results for r in d.get("throughput", []) if "targets" in r]),
    ]  # fmt: skip
    return [c for c in checks if c["checked"]]


def print_summary(checks: list[dict]) -> None:
    table(
        "Targets",
        ["target", "checked", "missed", "verdict"],
        [[c["target"], c["checked"], c["missed"], verdict(not c["missed"])] for c in checks],
    )
    for c in checks:
        for miss in c["misses"][:8]:
            print(f"  missed ({c['target']}): {miss}")
        if len(c["misses"]) > 8:
            print(f"  … and {len(c['misses']) - 8} more")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="cold and warm reads each (50)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured reads first (3)")
    parser.add_argument(
        "--only",
        help="measure only pages whose name contains this ('throughput', 'reminder': those)",
    )
    parser.add_argument(
        "--datasets", default="small,large", help="comma-separated: small, large (both)"
    )
    parser.add_argument(
        "--xlarge",
        action="store_true",
        help="also the xlarge dataset (300,000 relationships; seeded first if missing: long)",
    )
    parser.add_argument(
        "--throughput-seconds",
        type=float,
        default=10,
        help="length of each throughput run on the large dataset; 0 skips them (10)",
    )
    parser.add_argument("--no-reminders", action="store_true", help="skip the reminder scan")
    args = parser.parse_args()
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    if args.xlarge and "xlarge" not in names:
        names.append("xlarge")
    chosen = datasets(names)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    load_before = load_average()
    # Throughput and the reminder scan once, on the large dataset (else the largest chosen).
    heavy = next((d for d in chosen if d.label == "large"), chosen[-1])
    logs = Path(tempfile.mkdtemp(prefix=f"rapport-bench-{stamp}-"))
    print(f"bench: server logs in {logs}", flush=True)
    benches: list[Bench] = []
    with Supervisor(logs) as supervisor:
        try:
            for dataset in chosen:
                benches.append(Bench(dataset, stamp, supervisor))
            for bench in benches:
                bench.sign_in()
            measure_all(benches, next(b for b in benches if b.dataset is heavy), args)
        finally:
            for bench in benches:
                bench.stop()
    results = [bench.out for bench in benches]
    # After the servers stop: the scan runs in-process and would compete with them.
    if wanted(args, "reminder") and not args.no_reminders:
        heavy_bench = next(b for b in benches if b.dataset is heavy)
        heavy_bench.out["reminders"] = time_reminder_scan(heavy_bench.env)
    load_after = load_average()

    for data in results:
        print_pages(data)
    if any(d["browser"] for d in results):
        print_browser(results)
    growth_rows = growth(results)
    if len(results) > 1:
        print_growth(growth_rows, [d["dataset"] for d in results])
    for data in results:
        if data.get("throughput"):
            print_throughput(data["throughput"], data)
        if data.get("reminders"):
            table(
                f"Reminders, {data['dataset']} dataset (in-process)",
                ["task", "runs", "median ms", "max ms"],
                [[r["name"], r["runs"], ms(r["median_ms"]), ms(r["max_ms"])]
                 for r in data["reminders"]],
            )  # fmt: skip
    for data in results:
        if data["seed_seconds"] is not None:
            print(f"\nbench: seeding the {data['dataset']} dataset took {data['seed_seconds']} s")
    checks = summary(results, growth_rows)
    print_summary(checks)
    print(
        f"\nbench: load average before {load_before}, after {load_after} "
        f"({os.cpu_count()} CPUs, shared with the client and whatever else runs)"
    )
    for d in results:
        writes = ", ".join(
            f"{name} {c['written']}" + (f" (FAILED {c['failed']})" if c["failed"] else "")
            for name, c in d.get("cold_writes", {}).items()
        )
        left = d["written"]
        rows = (
            f"{left['interactions']} interactions, {left['measurements']} KPI measurements"
            if "error" not in left
            else "not counted"
        )
        print(
            f"bench: {d['dataset']}: cold writes by colleague: {writes}; rows the run left "
            f"in the database: {rows} (marked bench-{stamp})"
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"bench-{stamp}.json"

    def plain(value: object) -> object:
        return asdict(value) if hasattr(value, "__dataclass_fields__") else str(value)

    output.write_text(
        json.dumps(
            {
                "when": stamp,
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
                "load_average_after": load_after,
                "requests": args.requests,
                "targets": {
                    "page_p95_ms_cold": TARGET_PAGE_P95_MS,
                    "browser_p95_ms_cold": TARGET_BROWSER_P95_MS,
                    "growth_large_to_small": TARGET_GROWTH_LARGE,
                    "growth_xlarge_to_large": TARGET_GROWTH_XLARGE,
                    "queries_per_page": TARGET_QUERIES,
                    "relationship_list_rps": TARGET_LIST_RPS,
                },
                "datasets": results,
                "growth": growth_rows,
                "summary": checks,
            },
            indent=2,
            default=plain,
        )
    )
    print(f"bench: wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

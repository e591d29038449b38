"""`make bench`: Rapport's speed on the large dataset, measured against a real server.

1. Prepares a PostgreSQL database (BENCH_DATABASE_URL, default rapport_bench on loopback):
   migrates, loads `seed_demo --scale large` if missing (and reports how long it took),
   collects static files.
2. Starts gunicorn on loopback with production settings (DEBUG off) plus RAPPORT_BENCH, which
   adds an X-Query-Count header and a no-database floor view.
3. Signs in as a manager and as an executive, then requests each page with warm-up and at
   least 50 measured requests, and times the reminder scan in-process on the full dataset.
4. Prints a table (median, p95, queries per request, median ÷ floor) and writes it as JSON
   under bench/results/.

The figures are reported, not asserted: the normal suite pins the query counts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/rapport_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
PASSWORD = "rapport-demo-2026"


def server_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "DEBUG": "False",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
            "SECURE_SSL_REDIRECT": "False",  # plain HTTP on loopback; the client says https
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CONN_MAX_AGE": "600",
            "RAPPORT_BENCH": "True",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": os.environ.get("BENCH_WORKERS", "2"),
            "GUNICORN_THREADS": "1",
            # One client measures latency; throttling is for the load test, not here.
            "API_THROTTLE_USER": "100000/min",
            "API_THROTTLE_ANON": "100000/min",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        capture_output=capture,
    )
    return result.stdout if capture else ""


def prepare(env: dict[str, str]) -> dict:
    manage(env, "migrate", "--noinput", "-v0")
    count = int(
        manage(
            env,
            "shell",
            "-c",
            "from relationships.models import Relationship; print(Relationship.objects.count())",
            capture=True,
        )
        .strip()
        .splitlines()[-1]
    )
    seed_seconds = None
    if count < 30_000:
        print("bench: loading the large dataset (seed_demo --scale large) …", flush=True)
        started = time.perf_counter()
        manage(env, "seed_demo", "--scale", "large")
        seed_seconds = round(time.perf_counter() - started, 1)
        print(f"bench: loaded in {seed_seconds} s", flush=True)
    manage(env, "collectstatic", "--noinput", "-v0")
    return {"seed_seconds": seed_seconds}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host, port = env["GUNICORN_BIND"].split(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("bench: gunicorn did not become healthy within 60 s")


class Client:
    """A keep-alive HTTP client that signs in like a browser (CSRF, session cookie)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def _headers(self, extra: dict | None = None) -> dict[str, str]:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            # Behind a TLS proxy in production; secure cookies and CSRF checks stay on.
            "X-Forwarded-Proto": "https",
            "Accept": "text/html,application/json",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        for attempt in range(2):
            try:
                started = time.perf_counter()
                self.connection.request(method, path, body=body, headers=self._headers(headers))
                response = self.connection.getresponse()
                content = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                break
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response, content, elapsed

    def sign_in(self, username: str) -> None:
        _, page, _ = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        origin = f"https://127.0.0.1:{self.port}"
        body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        response, _, _ = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
            },
        )
        if response.status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"bench: could not sign in as {username} ({response.status})")


@dataclass
class Result:
    name: str
    path: str
    as_user: str
    requests: int
    median_ms: float
    p95_ms: float
    queries: int | None
    status: int
    ratio_to_floor: float | None = None


def measure(client: Client, name: str, path: str, as_user: str, n: int, warmup: int) -> Result:
    statuses = set()
    queries = None
    for _ in range(warmup):
        client.request("GET", path)
    timings = []
    for _ in range(n):
        response, _, elapsed = client.request("GET", path)
        statuses.add(response.status)
        timings.append(elapsed)
        header = response.getheader("X-Query-Count")
        queries = int(header) if header is not None else queries
    timings.sort()
    p95 = timings[max(0, int(round(0.95 * len(timings))) - 1)]
    status = max(statuses)
    return Result(name, path, as_user, n, statistics.median(timings), p95, queries, status)


def bench_setup_ids(env: dict[str, str]) -> dict:
    """Ids of realistic objects to request: found in the benchmark database itself."""
    script = """
import json
from django.db.models import Count
from accounts.models import Team, User
from plans.models import Plan
from relationships.models import Relationship
manager = User.objects.get(username="manager")
busiest = (Relationship.objects.filter(manager=manager).annotate(n=Count("interactions"))
           .order_by("-n").values_list("pk", flat=True).first())
plan = (Plan.objects.annotate(n=Count("initiatives")).order_by("-n")
        .values_list("pk", flat=True).first())
team = manager.teams.values_list("pk", flat=True).first()
print(json.dumps({"relationship": busiest, "plan": plan, "team": team}))
"""
    return json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])


def time_reminder_scan(env: dict[str, str], runs: int = 3) -> list[Result]:
    """The scan (and the whole hourly run) on the full dataset, rolled back each time."""
    script = f"""
import json, statistics, time
from django.db import transaction
from reviews import reminders
out = {{}}
steps = (("reminder scan", reminders.reminders_scan),
         ("reminder run (all steps)", reminders.reminders_run))
for name, call in steps:
    timings = []
    for _ in range({runs}):
        with transaction.atomic():
            started = time.perf_counter()
            call()
            timings.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    out[name] = timings
print(json.dumps(out))
"""
    data = json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])
    results = []
    for name, timings in data.items():
        timings.sort()
        results.append(
            Result(
                name,
                "(in-process task)",
                "-",
                len(timings),
                statistics.median(timings),
                timings[-1],
                None,
                0,
            )  # fmt: skip
        )
    return results


def page_plan(ids: dict) -> list[tuple[str, str, str]]:
    relationship, plan, team = ids["relationship"], ids["plan"], ids["team"]
    filtered = urlencode({"stage": "build", "team": team, "health": "fair"})
    dashboard_filter = urlencode({"period": "last_12_months", "team": team})
    return [
        ("relationship list", "/relationships/", "manager"),
        ("relationship list, filtered", f"/relationships/?{filtered}", "manager"),
        ("relationship list, by health", "/relationships/?sort=health", "manager"),
        ("stakeholder list, by value fit", "/stakeholders/?sort=-fit", "manager"),
        ("relationship detail (long timeline)", f"/relationships/{relationship}/", "manager"),
        ("board", "/relationships/board/", "manager"),
        ("objective tree", "/plans/", "manager"),
        ("plan page", f"/plans/{plan}/", "manager"),
        ("global search", "/search/?q=heron", "manager"),
        ("manager home", "/", "manager"),
        ("executive dashboard", "/dashboard/", "executive"),
        ("executive dashboard, filtered", f"/dashboard/?{dashboard_filter}", "executive"),
        ("API relationships list", "/api/v1/relationships/", "manager"),
        ("API interactions list", "/api/v1/interactions/", "manager"),
    ]  # fmt: skip


def print_table(results: list[Result]) -> None:
    header = (
        f"{'page':<40} {'user':<10} {'n':>4} {'median':>9} {'p95':>9} {'SQL':>5} "
        f"{'×floor':>7}  status"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        queries = "-" if r.queries is None else str(r.queries)
        ratio = "-" if r.ratio_to_floor is None else f"{r.ratio_to_floor:.1f}"
        print(
            f"{r.name:<40} {r.as_user:<10} {r.requests:>4} {r.median_ms:>7.1f}ms "
            f"{r.p95_ms:>7.1f}ms {queries:>5} {ratio:>7}  {r.status or ''}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", help="measure only pages whose name contains this")
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    port = free_port()
    env = server_env(database_url, redis_url, port)
    facts = prepare(env)
    ids = bench_setup_ids(env)
    server = start_gunicorn(env)
    try:
        anonymous = Client(port)
        floor = measure(
            anonymous, "floor (no database)", "/_bench/floor", "-", args.requests, args.warmup
        )
        clients = {name: Client(port) for name in ("manager", "executive")}
        for username, client in clients.items():
            client.sign_in(username)
        results = [floor]
        for name, path, user in page_plan(ids):
            if args.only and args.only not in name:
                continue
            results.append(measure(clients[user], name, path, user, args.requests, args.warmup))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not args.only or "reminder" in args.only:
        results += time_reminder_scan(env)
    for result in results:
        if result.path.startswith("/"):
            result.ratio_to_floor = result.median_ms / floor.median_ms
    print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    output = RESULTS / f"bench-{stamp}.json"
    output.write_text(
        json.dumps(
            {
                "when": stamp,
                "database": database_url.rsplit("/", 1)[-1],
                **facts,
                "ids": ids,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )  # fmt: skip
    )
    print(f"\nbench: wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

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
import json
import os
import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlencode

from common import (
    DEFAULT_DB,
    DEFAULT_REDIS,
    RESULTS,
    ROOT,
    Client,
    free_port,
    manage,
    prepare,
    server_env,
    start_gunicorn,
)


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


def print_row(r: Result, header: bool = False) -> None:
    if header:
        title = (
            f"{'page':<40} {'user':<10} {'n':>4} {'median':>9} {'p95':>9} {'SQL':>5} "
            f"{'×floor':>7}  status"
        )
        print(title)
        print("-" * len(title))
    queries = "-" if r.queries is None else str(r.queries)
    ratio = "-" if r.ratio_to_floor is None else f"{r.ratio_to_floor:.1f}"
    print(
        f"{r.name:<40} {r.as_user:<10} {r.requests:>4} {r.median_ms:>7.1f}ms "
        f"{r.p95_ms:>7.1f}ms {queries:>5} {ratio:>7}  {r.status or ''}",
        flush=True,
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
        floor.ratio_to_floor = 1.0
        clients = {name: Client(port) for name in ("manager", "executive")}
        for username, client in clients.items():
            client.sign_in(username)
        results = [floor]
        print_row(floor, header=True)
        for name, path, user in page_plan(ids):
            if args.only and args.only not in name:
                continue
            result = measure(clients[user], name, path, user, args.requests, args.warmup)
            result.ratio_to_floor = result.median_ms / floor.median_ms
            results.append(result)
            print_row(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not args.only or "reminder" in args.only:
        for result in time_reminder_scan(env):
            results.append(result)
            print_row(result)
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

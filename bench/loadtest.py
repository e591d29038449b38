"""`make loadtest`: many users at once against gunicorn + PostgreSQL + Redis + a Celery worker.

1. Prepares the database like `make bench` (LOADTEST_DATABASE_URL, default rapport_bench;
   the large dataset is loaded if missing) and a dedicated Redis database (LOADTEST_REDIS_URL,
   default redis://127.0.0.1:6379/10, flushed first).
2. Creates a personal API token for each API user in-process (revoked again at the end) and
   picks the accounts and relationships the scenario uses (bench/locustfile.py).
3. Starts gunicorn (production settings, --web-workers × --threads) and one Celery worker on
   loopback, sends the hourly reminder task through the broker so the worker has real work
   while the web tier is under load, then runs locust headless (50 users, 10 new per second,
   2 minutes by default).
4. Stops everything, counts the interactions in the database that carry the run's marker and
   compares them with the writes the server acknowledged: lost writes must be 0.
5. Prints requests/s, p50/p95/p99, errors and per-request figures; writes JSON under
   bench/results/. Exits non-zero on any error or lost write.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import (
    DEFAULT_DB,
    PYTHON,
    RESULTS,
    ROOT,
    Supervisor,
    free_port,
    load_average,
    prepare,
    server_env,
    shell_json,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
WRITE_REQUESTS = ("quick-log interaction (POST)", "API log interaction (POST)")

SETUP_SCRIPT = """
import json
from datetime import timedelta
from django.db.models import Count, Q
from django.utils import timezone
from accounts.models import ApiToken, Role, Team, User
from accounts.tokens import token_create, token_revoke
from relationships.models import Stage

RUN = {run_id!r}
# Tokens of earlier runs that did not get to revoke theirs (at most 20 active per user).
for old in ApiToken.objects.filter(name__startswith="loadtest ", revoked_at__isnull=True):
    token_revoke(token=old, by=old.user)

managers = list(
    User.objects.filter(role=Role.MANAGER, is_active=True)
    .annotate(n=Count("managed_relationships", filter=~Q(managed_relationships__stage=Stage.ENDED)))
    .filter(n__gte=5)
    .order_by("username")
)
# The demo "manager" first; the rest split between the web journeys and the API clients.
managers.sort(key=lambda u: u.username != "manager")
half = max(1, len(managers) // 2)

def pool(user):
    ids = list(
        user.managed_relationships.exclude(stage=Stage.ENDED)
        .order_by("?").values_list("pk", flat=True)[:200]
    )
    return {{"username": user.username, "relationships": ids}}

expires = timezone.now() + timedelta(days=1)
api = []
for user in managers[half:half + {api_users}]:
    _, raw = token_create(user=user, name=f"loadtest {{RUN}}", expires_at=expires)
    api.append({{**pool(user), "token": raw}})
executives = list(
    User.objects.filter(role=Role.EXECUTIVE, is_active=True).order_by("username")
    .values_list("username", flat=True)
)
executives.sort(key=lambda name: name != "executive")
print(json.dumps({{
    "managers": [pool(u) for u in managers[:half][:{web_users}]],
    "executives": executives,
    "api": api,
    "teams": list(Team.objects.order_by("pk").values_list("pk", flat=True)),
}}))
"""

COUNT_SCRIPT = """
import json
from accounts.models import ApiToken
from accounts.tokens import token_revoke
from relationships.models import Interaction
marker = {marker!r}
summaries = Interaction.objects.filter(summary__startswith=marker + " ").values_list(
    "summary", flat=True
)
revoked = 0
for token in ApiToken.objects.filter(name={token_name!r}, revoked_at__isnull=True):
    token_revoke(token=token, by=token.user)
    revoked += 1
print(json.dumps({{"write_ids": [s.split(" ", 2)[1] for s in summaries], "revoked": revoked}}))
"""

REMINDERS_SCRIPT = """
import json
from reviews.tasks import run_reminders
print(json.dumps({"task_id": run_reminders.apply_async().id}))
"""

RESULT_SCRIPT = """
import json
from celery.result import AsyncResult
from config.celery import app
result = AsyncResult({task_id!r}, app=app)
print(json.dumps({{"state": result.state, "result": result.result if result.ready() else None}},
                 default=str))
"""


def seconds(duration: str) -> int:
    """Locust's run time syntax (90, 90s, 2m, 1h30m) in seconds."""
    if duration.isdigit():
        return int(duration)
    parts = re.findall(r"(\d+)\s*([hms])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration.replace(" ", ""):
        raise SystemExit(f"loadtest: cannot read the duration {duration!r} (use 2m, 90s …)")
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def queue_length(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).llen("celery"))


def read_stats(prefix: Path) -> tuple[dict, list[dict]]:
    with open(f"{prefix}_stats.csv", newline="") as file:
        rows = list(csv.DictReader(file))

    def convert(row: dict) -> dict:
        def number(key: str) -> float | None:
            value = row.get(key, "")
            return None if value in ("", "N/A") else float(value)

        return {
            "type": row["Type"],
            "name": row["Name"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(number("Requests/s") or 0, 2),
            "average_ms": round(number("Average Response Time") or 0, 1),
            "p50_ms": number("50%"),
            "p95_ms": number("95%"),
            "p99_ms": number("99%"),
            "max_ms": number("Max Response Time"),
        }

    rows = [convert(row) for row in rows]
    total = next(r for r in rows if r["name"] == "Aggregated")
    return total, [r for r in rows if r["name"] != "Aggregated"]


def read_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    keys = {"method": "Method", "name": "Name", "error": "Error", "count": "Occurrences"}
    failures = [{key: row[column] for key, column in keys.items()} for row in rows]
    for failure in failures:
        failure["count"] = int(failure["count"])
    return failures


def worker_errors(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(
        1 for line in log.read_text(errors="replace").splitlines() if "ERROR/" in line
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users (50)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="new users per second (10)")
    parser.add_argument("--duration", default="2m", help="locust run time: 2m, 90s … (2m)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (2)")
    parser.add_argument(
        "--no-reminders",
        action="store_true",
        help="do not run the hourly reminder task on the worker during the test",
    )
    args = parser.parse_args()
    duration = seconds(args.duration)

    database_url = os.environ.get("LOADTEST_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("LOADTEST_REDIS_URL", DEFAULT_REDIS)
    run_id = datetime.now().strftime("%Y%m%d%H%M%S")
    marker = f"loadtest-{run_id}"
    port = free_port()
    env = server_env(database_url, redis_url, port)
    env.update(
        {
            "WEB_CONCURRENCY": str(args.web_workers),
            "GUNICORN_THREADS": str(args.threads),
            # Production's limits: a well-behaved client never meets them.
            "API_THROTTLE_USER": "1200/min",
            "API_THROTTLE_ANON": "60/min",
        }
    )
    # The upper bounds of each pool: weights 5:2:3 of the users, at least one each.
    web_users = max(1, args.users * 5 // 10 + 1)
    api_users = max(1, args.users * 3 // 10 + 1)

    work = Path(tempfile.mkdtemp(prefix=f"rapport-loadtest-{run_id}-"))
    print(f"loadtest: run {run_id}; logs and locust CSV in {work}", flush=True)
    flush_redis(redis_url)
    facts = prepare(env)
    setup = shell_json(
        env, SETUP_SCRIPT.format(run_id=run_id, web_users=web_users, api_users=api_users)
    )
    setup_file = work / "setup.json"
    setup_file.write_text(json.dumps(setup))
    acked_file = work / "acked.json"
    print(
        f"loadtest: {len(setup['managers'])} manager, {len(setup['executives'])} executive and "
        f"{len(setup['api'])} API accounts",
        flush=True,
    )

    load_before = load_average()
    reminder_task = None
    locust_rc = None
    timings: dict[str, float] = {}
    try:
        with Supervisor(work) as supervisor:
            supervisor.start_gunicorn("gunicorn", env)
            worker = supervisor.start_celery(
                "worker",
                ["worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname",
                 f"loadtest-{run_id}@%h"],
                env,
            )  # fmt: skip
            if not args.no_reminders:
                reminder_task = shell_json(env, REMINDERS_SCRIPT)["task_id"]
            locust_env = {
                **env,
                "LOADTEST_SETUP": str(setup_file),
                "LOADTEST_RUN_ID": run_id,
                "LOADTEST_ACKED_FILE": str(acked_file),
            }
            print(
                f"loadtest: locust, {args.users} users (+{args.spawn_rate:g}/s) for "
                f"{args.duration} against http://127.0.0.1:{port} …",
                flush=True,
            )
            started = time.monotonic()
            locust = supervisor.start(
                "locust",
                [
                    PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                    "--headless", "--users", str(args.users),
                    "--spawn-rate", str(args.spawn_rate), "--run-time", args.duration,
                    "--host", f"http://127.0.0.1:{port}", "--csv", str(work / "locust"),
                    "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING",
                ],
                locust_env,
            )  # fmt: skip
            try:
                locust_rc = locust.wait(timeout=duration + 120)
            except subprocess.TimeoutExpired:
                print("loadtest: locust overran its time; stopping it", flush=True)
                supervisor.stop(locust)
            timings["locust_seconds"] = round(time.monotonic() - started, 1)
            load_after = load_average()
            # Let the worker finish what the run queued (bounded), then read the task's result.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and queue_length(redis_url) and worker.poll() is None:
                time.sleep(1)
            queued_at_end = queue_length(redis_url)
            reminders = None
            if reminder_task:
                reminders = shell_json(env, RESULT_SCRIPT.format(task_id=reminder_task))
                if reminders["state"] in ("PENDING", "STARTED"):
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline and reminders["state"] in (
                        "PENDING",
                        "STARTED",
                    ):
                        time.sleep(2)
                        reminders = shell_json(env, RESULT_SCRIPT.format(task_id=reminder_task))
    finally:
        # Revoke the run's tokens and count what it wrote, whatever happened above.
        counted = shell_json(
            env, COUNT_SCRIPT.format(marker=marker, token_name=f"loadtest {run_id}")
        )

    if not (work / "locust_stats.csv").exists():
        print(f"loadtest: locust wrote no statistics; see {work / 'locust.log'}")
        return 2
    total, per_request = read_stats(work / "locust")
    failures = read_failures(work / "locust")
    acked_data = (
        json.loads(acked_file.read_text()) if acked_file.exists() else {"acked": [], "sent": []}
    )
    acked = set(acked_data["acked"])
    found = counted["write_ids"]
    found_set = set(found)
    acknowledged_by_stats = sum(
        r["requests"] - r["failures"] for r in per_request if r["name"] in WRITE_REQUESTS
    )
    lost = sorted(acked - found_set)
    writes = {
        "attempted": len(acked_data["sent"]),
        "acknowledged": len(acked),
        "acknowledged_per_locust_stats": acknowledged_by_stats,
        "rows_with_marker": len(found),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "duplicated": len(found) - len(found_set),
        "written_but_not_acknowledged": len(found_set - acked),
    }
    summary = {
        "when": run_id,
        "marker": marker,
        "database": database_url.rsplit("/", 1)[-1],
        **facts,
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration": args.duration,
        "gunicorn": {"workers": args.web_workers, "threads": args.threads},
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        **timings,
        "locust_exit_code": locust_rc,
        "total": total,
        "errors": total["failures"],
        "writes": writes,
        "failures": failures,
        "requests": per_request,
        "worker": {
            "reminder_task": reminders,
            "queued_at_end": queued_at_end,
            "error_lines_in_log": worker_errors(work / "worker.log"),
        },
        "logs": str(work),
    }

    print()
    print(f"{'request':<46} {'n':>6} {'fail':>5} {'rps':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
    print("-" * 90)
    for r in [*sorted(per_request, key=lambda r: -r["requests"]), total]:
        print(
            f"{r['type'] + ' ' + r['name']:<46.46} {r['requests']:>6} {r['failures']:>5} "
            f"{r['rps']:>6.1f} {_ms(r['p50_ms'])} {_ms(r['p95_ms'])} {_ms(r['p99_ms'])}"
        )
    print()
    print(
        f"loadtest: {total['requests']} requests, {total['rps']:.1f} req/s; "
        f"p50 {_ms(total['p50_ms']).strip()}, p95 {_ms(total['p95_ms']).strip()}, "
        f"p99 {_ms(total['p99_ms']).strip()}; errors {total['failures']}"
    )
    for failure in failures:
        print(
            f"  error ×{failure['count']}: {failure['method']} {failure['name']}: "
            f"{failure['error']}"
        )
    print(
        f"loadtest: writes attempted {writes['attempted']}, acknowledged {writes['acknowledged']}, "
        f"found in the database {writes['rows_with_marker']} → lost {writes['lost']}, "
        f"duplicated {writes['duplicated']}, written without acknowledgement "
        f"{writes['written_but_not_acknowledged']}"
    )
    if reminders:
        print(f"loadtest: reminder task on the worker: {reminders['state']} {reminders['result']}")
    print(
        f"loadtest: load average before {load_before}, after {load_after} "
        f"({os.cpu_count()} CPUs); worker queue at end {queued_at_end}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"loadtest-{run_id[:8]}-{run_id[8:]}.json"
    output.write_text(json.dumps(summary, indent=2))
    print(f"loadtest: wrote {output.relative_to(ROOT)}")
    ok = total["failures"] == 0 and writes["lost"] == 0 and writes["acknowledged"] > 0
    print("loadtest: PASS" if ok else "loadtest: FAIL (errors or lost writes)")
    return 0 if ok else 1


def _ms(value: float | None) -> str:
    return f"{'-':>7}" if value is None else f"{value:>5.0f}ms"


if __name__ == "__main__":
    sys.exit(main())

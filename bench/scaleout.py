"""`make scaleout`: two web instances, two Celery workers and beat sharing PostgreSQL and Redis,
with report reads on a PostgreSQL streaming replica.

PostgreSQL is private to the run (drills/services.py): a primary initdb'd into the run's
temporary directory on a free loopback port, holding a small database (`rapport_scaleout`,
migrated, `seed_demo --scale small`), and a hot-standby replica made from it with
`pg_basebackup -R`; the web instances get DATABASE_REPLICA_URL. Both clusters are deleted
at the end, their logs kept. Redis is the machine's (SCALEOUT_REDIS_URL, default
redis://127.0.0.1:6379/8, flushed first). E-mail goes to an SMTP sink on loopback run by
this script, so every message sent is counted.

Checks, each printed as PASS/FAIL with its figures:

a. sessions: a sign-in through instance A is honoured by instance B (the home page, signed
   in, with the user's name), and a sign-out through B ends the session on A too;
b. writes: an interaction logged through A's quick-log form is read through B (page and API),
   and one logged through B is read through A;
c. reminders exactly once: with reviews and commitments made due (overdue, escalated, due
   today, coming up, past-due commitments, unsent feedback requests), the reminder task is
   sent six times at once through the broker while beat sends it every two seconds, to two
   workers of two processes each; once the queue drains every reminder (kind, subject,
   recipient, day) exists once, was delivered in-app exactly once (a trigger in this
   database records every insert or refresh of a notification), and was e-mailed at most once
   (escalations one mail each, one digest per person, one mail per feedback request);
d. the read replica: report reads (dashboard, chart fragments and CSVs, dashboard API, API
   lists) through both instances are answered by the replica (the servers' replica query
   count header) and other pages never read it; with the replica's replay paused, a user
   who did not write reads the replica's past within the lag limit while a user who just
   wrote reads the primary and sees their write (page, API list, export); beyond the limit
   everyone reads the primary; with the replica SIGKILLed every report still answers 200
   from the primary and /healthz stays 200; restarted, report reads return to it.

Exits non-zero on any failure; writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import socketserver
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlencode

from common import (
    PYTHON,
    RESULTS,
    ROOT,
    Client,
    Supervisor,
    free_port,
    load_average,
    manage,
    server_env,
    shell_json,
)

sys.path.insert(0, str(ROOT / "drills"))
from services import PrivatePostgres  # noqa: E402  (drills/ is not a package)

DATABASE = "rapport_scaleout"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
# The web instances' DATABASE_REPLICA_MAX_LAG_SECONDS and _RETRY_SECONDS (the defaults).
REPLICA_MAX_LAG = 5.0
REPLICA_RETRY = 10.0
REPLICA_CHECK = 2.0  # core.dbrouting probes the replica at most this often per process
REPLICA_HEADER = "X-Replica-Query-Count"  # RAPPORT_BENCH: queries the replica answered
MANUAL_RUNS = 6
BEAT_INTERVAL = 2.0  # seconds between beat's reminder sends during the check
BEAT_WINDOW = 12.0  # how long beat keeps sending after the manual burst
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
REVIEW_LINK = re.compile(r"/reviews/(\d+)/")

# Beat as in production, except that the hourly reminder entry fires every few seconds.
BEAT_BOOTSTRAP = """
import sys
from datetime import timedelta
from config.celery import app
app.conf.beat_schedule["reviews-reminders"]["schedule"] = timedelta(seconds=float(sys.argv[2]))
sys.exit(app.start(["beat", "--loglevel", "INFO", "--schedule", sys.argv[1],
                    "--max-interval", "1"]))
"""

SETUP_SCRIPT = """
import json
from datetime import timedelta
from django.db import connection, transaction
from django.utils import timezone
from accounts.models import User
from notifications.models import Notification
from relationships.models import ACTIVE_STAGES, Commitment, Relationship
from reviews.models import Digest, FeedbackRequest, Reminder, Review
from stakeholders.models import Contact

today = timezone.localdate()
with transaction.atomic():
    Reminder.objects.all().delete()
    Digest.objects.all().delete()
    Notification.objects.all().delete()
    # Spread the open reviews over every kind of reminder: escalated (> 14 days late),
    # overdue, due today, coming up.
    reviews = list(
        Review.objects.filter(status=Review.Status.SCHEDULED, relationship__stage__in=ACTIVE_STAGES)
        .order_by("pk")
    )
    offsets = [-30, -20, -3, 0, 2, 6]
    for i, review in enumerate(reviews):
        review.due_on = today + timedelta(days=offsets[i % len(offsets)])
        Relationship.objects.filter(pk=review.relationship_id).update(next_review_on=review.due_on)
    Review.objects.bulk_update(reviews, ["due_on"])
    # Our open commitments: past due.
    ours = list(
        Commitment.objects.filter(
            status=Commitment.Status.OPEN,
            direction=Commitment.Direction.OURS,
            relationship__stage__in=ACTIVE_STAGES,
        ).order_by("pk")
    )
    for i, commitment in enumerate(ours):
        commitment.due_on = today - timedelta(days=1 + i % 5)
    Commitment.objects.bulk_update(ours, ["due_on"])
    # Feedback requests whose send task "never ran": the hourly run's sweep sends them.
    manager = User.objects.get(username="manager")
    feedback, contacted = 0, set()
    for relationship in Relationship.objects.filter(stage__in=ACTIVE_STAGES).order_by("pk")[:20]:
        contact = Contact.objects.filter(stakeholder_id=relationship.stakeholder_id).first()
        if contact is None or not contact.email or contact.pk in contacted or feedback == 4:
            continue
        contacted.add(contact.pk)
        request = FeedbackRequest.objects.create(
            relationship=relationship,
            contact=contact,
            message="How are we doing?",
            sent_by=manager,
            expires_at=timezone.now() + timedelta(days=14),
        )
        FeedbackRequest.objects.filter(pk=request.pk).update(
            created_at=timezone.now() - timedelta(minutes=30)
        )
        feedback += 1

# Every insert or refresh of a notification, recorded by the database itself.
table = Notification._meta.db_table
with connection.cursor() as cursor:
    cursor.execute('''
        CREATE TABLE IF NOT EXISTS scaleout_notification_audit (
            id bigserial PRIMARY KEY, op text, notification_id bigint, recipient_id bigint,
            key text, at timestamptz DEFAULT clock_timestamp())
    ''')
    cursor.execute('''
        CREATE OR REPLACE FUNCTION scaleout_notification_audit() RETURNS trigger AS $$
        BEGIN
            INSERT INTO scaleout_notification_audit (op, notification_id, recipient_id, key)
            VALUES (TG_OP, NEW.id, NEW.recipient_id, NEW.key);
            RETURN NEW;
        END $$ LANGUAGE plpgsql
    ''')
    cursor.execute(f'DROP TRIGGER IF EXISTS scaleout_notification_audit ON "{table}"')
    cursor.execute(f'''
        CREATE TRIGGER scaleout_notification_audit AFTER INSERT OR UPDATE ON "{table}"
        FOR EACH ROW EXECUTE FUNCTION scaleout_notification_audit()
    ''')

relationship = (
    Relationship.objects.filter(manager=manager, stage__in=ACTIVE_STAGES).order_by("pk").first()
)
print(json.dumps({
    "today": today.isoformat(),
    "reviews_made_due": len(reviews),
    "commitments_past_due": len(ours),
    "feedback_requests_pending": feedback,
    "relationship": relationship.pk,
    "manager_name": manager.get_full_name(),
}))
"""

AUDIT_MARK_SCRIPT = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT coalesce(max(id), 0) FROM scaleout_notification_audit")
    print(cursor.fetchone()[0])
"""

TRIGGER_SCRIPT = """
import json
from reviews.tasks import run_reminders
ids = [run_reminders.apply_async().id for _ in range({n})]
print(json.dumps(ids))
"""

VERIFY_SCRIPT = """
import json
from collections import Counter
from django.db import connection
from notifications.models import Notification
from reviews.models import Digest, FeedbackRequest, Reminder

reminders = list(Reminder.objects.select_related("recipient"))
identity = Counter(
    (r.kind, r.review_id, r.commitment_id, r.recipient_id, r.for_date) for r in reminders
)
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT recipient_id, key, op, count(*) FROM scaleout_notification_audit WHERE id > %s "
        "GROUP BY 1, 2, 3",
        [{since}],
    )
    audit = cursor.fetchall()
events = Counter()
inserts = 0
for recipient_id, key, op, n in audit:
    events[(recipient_id, key)] += n
    inserts += n if op == "INSERT" else 0
rows = Counter(Notification.objects.values_list("recipient_id", "key"))
not_once, expected = [], set()
for r in reminders:
    key = (r.recipient_id, f"{r.subject_key}:{r.kind}")
    expected.add(key)
    if r.notified_at is None or events[key] != 1 or rows[key] != 1:
        not_once.append([r.pk, r.kind, r.subject_key, r.recipient_id, events[key], rows[key]])
escalations = sorted(
    [r.recipient.email, r.review_id]
    for r in reminders
    if r.kind == "review_escalated" and r.emailed_at
)
digest_reminders = sum(1 for r in reminders if r.kind != "review_escalated" and r.emailed_at)
digests = Counter(Digest.objects.values_list("recipient__email", flat=True))
feedback = Counter(
    FeedbackRequest.objects.filter(message="How are we doing?", sent_at__isnull=False)
    .values_list("contact__email", flat=True)
)
print(json.dumps({
    "reminders": len(reminders),
    "by_kind": dict(Counter(r.kind for r in reminders)),
    "recipients": len({r.recipient_id for r in reminders}),
    "duplicate_reminders": sum(n - 1 for n in identity.values()),
    "not_notified": sum(1 for r in reminders if r.notified_at is None),
    "notification_rows": sum(rows[key] for key in expected),
    "notification_events": sum(events.values()),
    "notification_inserts": inserts,
    "events_without_reminder": sum(n for key, n in events.items() if key not in expected),
    "not_exactly_once": not_once[:20],
    "not_exactly_once_count": len(not_once),
    "emailed_escalations": escalations,
    "emailed_digest_reminders": digest_reminders,
    "digests": dict(digests),
    "feedback_sent": dict(feedback),
}))
"""


# --- An SMTP sink on loopback: every message the workers send is kept and counted ----------


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 rapport-scaleout sink")
        data: list[bytes] | None = None
        for _ in range(100_000):  # bounded: one conversation
            line = self.rfile.readline(1_000_000)
            if not line:
                return
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    with self.server.lock:
                        self.server.messages.append(b"".join(data))
                    data = None
                    self.reply("250 OK queued")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 rapport-scaleout")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 OK")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = []
            elif verb == b"QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class SMTPSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.lock = threading.Lock()
        self.messages: list[bytes] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def parsed(self) -> list[dict]:
        with self.lock:
            raw = list(self.messages)
        out = []
        for message in raw:
            parsed = BytesParser(policy=policy.default).parsebytes(message)
            body = parsed.get_body(preferencelist=("plain",))
            out.append(
                {
                    "to": str(parsed["To"]),
                    "subject": str(parsed["Subject"]),
                    "body": body.get_content() if body is not None else "",
                }
            )
        return out

    def close(self) -> None:
        self.shutdown()
        self.server_close()


# --- Helpers ---------------------------------------------------------------------------


def wait_replayed(primary: PrivatePostgres, replica: PrivatePostgres, timeout: float = 60) -> float:
    """Wait until the replica has replayed everything the primary has written; seconds."""
    with primary.connect("postgres") as connection:
        position = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    started = time.monotonic()
    with replica.connect("postgres", connect_timeout=2) as connection:
        while time.monotonic() - started < timeout:
            query = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
            if connection.execute(query, [position]).fetchone()[0]:
                return round(time.monotonic() - started, 2)
            time.sleep(0.05)
    raise SystemExit(f"scaleout: the replica did not catch up within {timeout:.0f} s")


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def queue_length(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).llen("celery"))


TASK_LINE = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): \w+/[\w-]+\] Task (?P<task>[\w.]+)\[(?P<id>[\w-]+)\] "
    r"(?P<what>received|succeeded in (?P<secs>[\d.]+)s: (?P<result>.*)|.*)$"
)


def task_runs(log: Path, task: str) -> dict[str, dict]:
    """What a worker's log says about each run of `task`: received, finished, result."""
    runs: dict[str, dict] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = TASK_LINE.match(line)
        if not match or match["task"] != task:
            continue
        run = runs.setdefault(match["id"], {"received": False, "finished": False})
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if match["what"] == "received":
            run["received"] = True
        elif match["secs"]:
            run.update(finished=True, ok=True, end=at, start=at - float(match["secs"]))
            try:
                run["result"] = ast.literal_eval(match["result"])
            except (ValueError, SyntaxError):
                run["result"] = None
        elif "raised" in match["what"] or "retry" in match["what"].lower():
            run.update(finished="raised" in match["what"], ok=False, error=match["what"][:200])
    return runs


def max_overlap(runs: list[dict]) -> int:
    edges = sorted(
        [(r["start"], 1) for r in runs if "start" in r]
        + [(r["end"], -1) for r in runs if "end" in r]
    )
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


class Report:
    def __init__(self):
        self.checks: list[dict] = []

    def check(self, name: str, ok: bool, figures: str, **data) -> bool:
        self.checks.append({"check": name, "ok": bool(ok), "figures": figures, **data})
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)
        return ok


def form_post(client: Client, path: str, data: dict, referer: str):
    origin = f"https://127.0.0.1:{client.port}"
    return client.request(
        "POST",
        path,
        body=urlencode(data),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + referer,
        },
    )


def csrf_of(page: bytes) -> str:
    match = CSRF.search(page)
    if not match:
        raise SystemExit("scaleout: no CSRF token in the page")
    return match.group(1).decode()


def log_interaction(client: Client, relationship: int, summary: str, day: str) -> int:
    detail = f"/relationships/{relationship}/"
    _, page, _ = client.request("GET", detail)
    data = {
        "csrfmiddlewaretoken": csrf_of(page),
        "occurred_on": day,
        "channel": "call",
        "summary": summary,
        "sentiment": "1",
    }
    response, _, _ = form_post(client, f"{detail}interactions/new/", data, detail)
    return response.status


# --- The checks ------------------------------------------------------------------------


def check_sessions(report: Report, a: Client, b: Client, name: str) -> None:
    a.sign_in("manager")
    b.cookies = dict(a.cookies)  # the browser's cookie jar, pointed at the other instance
    response, page, _ = b.request("GET", "/")
    signed_in = response.status == 200 and name.encode() in page
    anonymous = Client(b.port)
    anon_response, _, _ = anonymous.request("GET", "/")
    report.check(
        "a. sign-in on A honoured by B",
        signed_in and anon_response.status == 302,
        f"B answered {response.status} with {name!r} {'in' if name.encode() in page else 'NOT in'}"
        f" the page; without the cookie B answers {anon_response.status} (to the login form)",
    )


def check_sign_out(report: Report, a: Client, b: Client) -> None:
    response, page, _ = b.request("GET", "/")
    out, _, _ = form_post(b, "/accounts/logout/", {"csrfmiddlewaretoken": csrf_of(page)}, "/")
    after, _, _ = a.request("GET", "/")
    location = after.getheader("Location") or ""
    report.check(
        "a. sign-out on B ends the session on A",
        out.status == 302 and after.status == 302 and "/accounts/login/" in location,
        f"sign-out on B {out.status}; A then answers {after.status} → {location}",
    )


def check_writes(report: Report, a: Client, b: Client, relationship: int, run_id: str) -> None:
    day = (date.today() - timedelta(days=1)).isoformat()  # never in the server's future
    for writer, reader, w, r in ((a, b, "A", "B"), (b, a, "B", "A")):
        summary = f"scaleout-{run_id} written through {w}"
        status = log_interaction(writer, relationship, summary, day)
        _, page, _ = reader.request("GET", f"/relationships/{relationship}/")
        query = urlencode({"relationship": relationship, "search": summary})
        _, api, _ = reader.request("GET", f"/api/v1/interactions/?{query}")
        in_page = summary.encode() in page
        try:
            in_api = any(i["summary"] == summary for i in json.loads(api)["results"])
        except (ValueError, KeyError):
            in_api = False
        report.check(
            f"b. write through {w} read through {r}",
            status == 302 and in_page and in_api,
            f"quick-log on {w} answered {status}; on {r} the relationship page "
            f"{'shows' if in_page else 'does NOT show'} it, the API "
            f"{'lists' if in_api else 'does NOT list'} it",
        )


# --- d. The read replica ----------------------------------------------------------------


def report_paths(period: str) -> list[str]:
    """Report reads answered by the replica during the view (not streamed). The period
    differs per instance so that each computes its figures rather than reading the other's
    from the cache."""
    return [
        f"/dashboard/?period={period}",
        f"/dashboard/chart/funnel/?period={period}",
        f"/dashboard/chart/weekly/?period={period}",
        f"/dashboard/chart/funnel.csv?period={period}",
        f"/api/v1/dashboard/?period={period}",
        "/api/v1/interactions/",
        "/api/v1/relationships/",
    ]


# Streamed while they are sent (after the query count header): their reads are shown by the
# lagging-replica check instead.
EXPORT_PATHS = ["/relationships/export.csv", "/stakeholders/export.csv"]
PRIMARY_PATHS = ["/", "/relationships/", "/relationships/{pk}/", "/api/v1/relationships/{pk}/"]


def replica_reads(response) -> int:
    return int(response.getheader(REPLICA_HEADER) or 0)


def healthz(port: int) -> tuple[int, dict]:
    response, body, _ = Client(port).request("GET", "/healthz")
    return response.status, json.loads(body)


def check_report_reads(report: Report, readers: dict[str, Client], relationship: int) -> None:
    wrong: list[str] = []
    on_replica = on_primary = queries = 0
    periods = ("last_12_months", "this_year")
    for (name, client), period in zip(readers.items(), periods, strict=True):
        groups = (
            ("replica", report_paths(period)),
            ("primary", [path.format(pk=relationship) for path in PRIMARY_PATHS]),
            ("either", EXPORT_PATHS),
        )
        for expected, paths in groups:
            for path in paths:
                response, _, _ = client.request("GET", path)
                reads = replica_reads(response)
                if response.status != 200:
                    wrong.append(f"{name} {path}: {response.status}")
                elif expected == "replica" and not reads:
                    wrong.append(f"{name} {path}: not read from the replica")
                elif expected == "primary" and reads:
                    wrong.append(f"{name} {path}: {reads} queries on the replica")
                on_replica += expected == "replica" and reads > 0
                on_primary += expected == "primary" and not reads
                queries += reads if expected == "replica" else 0
    report.check(
        "d. report reads are answered by the replica, other pages by the primary",
        not wrong,
        f"{on_replica} report requests through A and B (dashboard, chart fragments and CSV, "
        f"dashboard API, API lists) read the replica ({queries} queries); {on_primary} other "
        f"requests (home, relationship list and page, API detail) read only the primary; "
        f"exports 200; wrong: {wrong or 'none'}",
        wrong=wrong,
    )


def interactions_listed(client: Client, relationship: int, summary: str):
    query = urlencode({"relationship": relationship, "search": summary})
    response, body, _ = client.request("GET", f"/api/v1/interactions/?{query}")
    try:
        listed = any(i["summary"] == summary for i in json.loads(body)["results"])
    except (ValueError, KeyError):
        listed = False
    return response, listed


def exported(client: Client, marker: str) -> bool:
    response, body, _ = client.request("GET", "/relationships/export.csv")
    return response.status == 200 and marker.encode() in body


def check_lagging_replica(
    report: Report,
    primary: PrivatePostgres,
    replica: PrivatePostgres,
    writer: tuple[Client, Client],
    reader: Client,
    relationship: int,
    run_id: str,
) -> None:
    """Replay paused: the reader (who wrote nothing) reads the replica's past until the lag
    passes the limit; the writer reads the primary from their write on."""
    writer_a, writer_b = writer
    detail = f"/relationships/{relationship}/"
    _, page, _ = writer_a.request("GET", detail)  # the form, before the clock starts
    token = csrf_of(page)
    summary = f"scaleout-{run_id} written while the replica lags"
    marker = f"scaleout-{run_id} purpose changed while the replica lags"
    day = (date.today() - timedelta(days=1)).isoformat()
    table_update = "UPDATE relationships_relationship SET purpose = %s WHERE id = %s"
    with primary.connect(DATABASE) as on_primary, replica.connect(DATABASE) as on_replica:
        # A commit the replica replays just before it stops: the lag counts from here.
        on_primary.execute(table_update.replace("%s", "purpose", 1), [relationship])
        wait_replayed(primary, replica)
        on_replica.execute("SELECT pg_wal_replay_pause()")
        while on_replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != (
            "paused"
        ):
            time.sleep(0.02)
        paused = time.monotonic()
        # Someone else's write, outside the app: nobody is stamped as having written it.
        on_primary.execute(table_update, [marker, relationship])
        data = {
            "csrfmiddlewaretoken": token,
            "occurred_on": day,
            "channel": "call",
            "summary": summary,
            "sentiment": "1",
        }
        logged, _, _ = form_post(writer_a, f"{detail}interactions/new/", data, detail)

        reader_api, reader_listed = interactions_listed(reader, relationship, summary)
        reader_exported = exported(reader, marker)
        reader_after = time.monotonic() - paused
        writer_api, writer_listed = interactions_listed(writer_b, relationship, summary)
        writer_exported = exported(writer_b, marker)
        _, writer_page, _ = writer_b.request("GET", detail)
        writer_after = time.monotonic() - paused
        report.check(
            "d. lagging replica: a user who just wrote reads the primary, others the replica",
            logged.status == 302
            and reader_after < REPLICA_MAX_LAG
            and replica_reads(reader_api) > 0
            and not reader_listed
            and not reader_exported
            and replica_reads(writer_api) == 0
            and writer_listed
            and writer_exported
            and summary.encode() in writer_page,
            f"replay paused; the writer's quick-log through A answered {logged.status}; within "
            f"{reader_after:.1f} s the executive (no write) read the replica "
            f"({replica_reads(reader_api)} queries) through B: the interaction "
            f"{'listed' if reader_listed else 'not listed yet'}, the changed purpose "
            f"{'exported' if reader_exported else 'not exported yet'}; within "
            f"{writer_after:.1f} s the writer through B read the primary "
            f"({replica_reads(writer_api)} replica queries): the interaction "
            f"{'listed' if writer_listed else 'NOT listed'} and "
            f"{'on' if summary.encode() in writer_page else 'NOT on'} the relationship "
            f"page, the purpose {'exported' if writer_exported else 'NOT exported'}",
        )

        # Beyond the lag limit (and the next probe) nobody reads the replica.
        time.sleep(max(0.0, paused + REPLICA_MAX_LAG + REPLICA_CHECK + 1 - time.monotonic()))
        reader_api, reader_listed = interactions_listed(reader, relationship, summary)
        reader_exported = exported(reader, marker)
        reader_after = time.monotonic() - paused
        _, health = healthz(reader.port)
        report.check(
            "d. replica lagging beyond the limit: everyone reads the primary",
            replica_reads(reader_api) == 0
            and reader_listed
            and reader_exported
            and health.get("replica", "").startswith("lagging"),
            f"{reader_after:.1f} s after replay stopped (limit {REPLICA_MAX_LAG:.0f} s) the "
            f"executive read {replica_reads(reader_api)} times from the replica; the interaction "
            f"{'listed' if reader_listed else 'NOT listed'}, the purpose "
            f"{'exported' if reader_exported else 'NOT exported'}; /healthz: "
            f"{health.get('status')}, replica {health.get('replica')!r}",
        )
        on_replica.execute("SELECT pg_wal_replay_resume()")
    wait_replayed(primary, replica)


def check_replica_killed(
    report: Report,
    replica: PrivatePostgres,
    readers: dict[str, Client],
    writer: tuple[Client, Client],
    relationship: int,
    run_id: str,
) -> float:
    """SIGKILL the replica while reports are read through both instances. Returns the
    monotonic time it was killed."""
    replica.kill()
    killed = time.monotonic()
    statuses: Counter = Counter()
    slowest = 0.0
    requests = 0
    while time.monotonic() - killed < 8:
        for (_, client), period in zip(
            readers.items(), ("last_month", "this_quarter"), strict=True
        ):
            for path in report_paths(period) + EXPORT_PATHS:
                response, _, ms = client.request("GET", path)
                statuses[response.status] += 1
                slowest = max(slowest, ms)
                requests += 1
    writer_a, writer_b = writer
    summary = f"scaleout-{run_id} written while the replica is down"
    day = (date.today() - timedelta(days=1)).isoformat()
    logged = log_interaction(writer_b, relationship, summary, day)
    _, listed = interactions_listed(writer_a, relationship, summary)
    health = {name: healthz(client.port) for name, client in readers.items()}
    healthy = all(
        status == 200 and body.get("status") == "ok" and body.get("replica", "").startswith("down")
        for status, body in health.values()
    )
    report.check(
        "d. replica killed: every report still answers from the primary",
        set(statuses) == {200} and logged == 302 and listed and healthy,
        f"{requests} report and export requests in the 8 s after SIGKILL: {dict(statuses)}, "
        f"slowest {slowest:.0f} ms; a quick-log through B answered {logged} and the API "
        f"through A {'lists' if listed else 'does NOT list'} it; /healthz "
        + ", ".join(
            f"{n} {s} {b.get('status')} replica {b.get('replica')!r}"
            for n, (s, b) in health.items()
        ),
    )
    return killed


def check_replica_back(
    report: Report,
    primary: PrivatePostgres,
    replica: PrivatePostgres,
    readers: dict[str, Client],
    killed: float,
) -> None:
    replica.start()
    ready = time.monotonic()
    wait_replayed(primary, replica)
    back: dict[str, float] = {}
    deadline = ready + REPLICA_RETRY + REPLICA_CHECK + 15
    while len(back) < len(readers) and time.monotonic() < deadline:
        for name, client in readers.items():
            if name not in back:
                response, _, _ = client.request("GET", "/api/v1/interactions/")
                if response.status == 200 and replica_reads(response) > 0:
                    back[name] = round(time.monotonic() - ready, 1)
        time.sleep(0.5)
    # By now every web process's wait has run out: all of them read it again.
    after = Counter()
    for name, client in readers.items():
        for _ in range(6):
            response, _, _ = client.request("GET", "/api/v1/relationships/")
            after[(name, response.status == 200 and replica_reads(response) > 0)] += 1
    limit = REPLICA_RETRY + REPLICA_CHECK + 3
    report.check(
        "d. replica restarted: report reads return to it",
        len(back) == len(readers) and max(back.values()) <= limit and all(ok for (_, ok) in after),
        f"down {ready - killed:.1f} s; back on the replica "
        + ", ".join(f"{n} after {s} s" for n, s in back.items())
        + f" of it accepting connections (limit {limit:.0f} s: the retry wait "
        f"{REPLICA_RETRY:.0f} s and a probe); then "
        f"{sum(n for (_, ok), n in after.items() if ok)}/{sum(after.values())} API lists "
        "read the replica",
    )


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()

    redis_url = os.environ.get("SCALEOUT_REDIS_URL", DEFAULT_REDIS)
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix=f"rapport-scaleout-{run_id}-"))
    work.chmod(0o755)  # the PostgreSQL clusters inside belong to the postgres user
    print(f"scaleout: run {run_id}; logs in {work}", flush=True)
    report = Report()
    facts: dict = {"load_average_before": load_average()}

    sink = SMTPSink()
    ports: set[int] = set()
    while len(ports) < 4:
        ports.add(free_port())
    port_a, port_b, port_primary, port_replica = sorted(ports)
    primary = PrivatePostgres(work / "primary", port_primary, work / "primary.log")
    replica = PrivatePostgres(work / "replica", port_replica, work / "replica.log")
    database_url = primary.url(DATABASE)
    origins = f"https://127.0.0.1:{port_a},https://127.0.0.1:{port_b}"
    base = server_env(database_url, redis_url, port_a)
    base.update(
        {
            "CSRF_TRUSTED_ORIGINS": origins,
            "WEB_CONCURRENCY": "2",
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
            "REMINDER_DIGEST_HOUR": "0",  # digests go out at any hour during the check
            "LOG_LEVEL": "WARNING",
        }
    )
    env_a = {**base, "GUNICORN_BIND": f"127.0.0.1:{port_a}"}
    env_b = {**base, "GUNICORN_BIND": f"127.0.0.1:{port_b}"}

    try:
        started = time.monotonic()
        print(
            f"scaleout: private PostgreSQL primary on :{port_primary}, database {DATABASE} "
            "(migrate, seed_demo --scale small) …",
            flush=True,
        )
        primary.init()
        primary.start()
        primary.create_database(DATABASE)
        flush_redis(redis_url)
        manage(base, "migrate", "--noinput", "-v0")
        manage(base, "seed_demo", "--scale", "small")
        manage(base, "collectstatic", "--noinput", "-v0")
        setup = shell_json(base, SETUP_SCRIPT)
        facts["setup"] = setup
        # The replica: a base backup of the primary, then streaming what it writes.
        replica.init_replica_of(primary)
        replica.start()
        facts["replica_caught_up_seconds"] = wait_replayed(primary, replica)
        replica_env = {
            "DATABASE_REPLICA_URL": replica.url(DATABASE),
            "DATABASE_REPLICA_MAX_LAG_SECONDS": str(REPLICA_MAX_LAG),
            "DATABASE_REPLICA_RETRY_SECONDS": str(REPLICA_RETRY),
        }
        base.update(replica_env)
        env_a.update(replica_env)
        env_b.update(replica_env)
        print(f"scaleout: streaming replica on :{port_replica}", flush=True)
        facts["prepare_seconds"] = round(time.monotonic() - started, 1)
        print(
            f"scaleout: {setup['reviews_made_due']} open reviews made due, "
            f"{setup['commitments_past_due']} commitments past due, "
            f"{setup['feedback_requests_pending']} feedback requests pending",
            flush=True,
        )

        with Supervisor(work) as supervisor:
            supervisor.start_gunicorn("web-a", env_a)
            supervisor.start_gunicorn("web-b", env_b)
            for name in ("worker1", "worker2"):
                supervisor.start_celery(
                    name,
                    ["worker", "--loglevel", "INFO", "--concurrency", "2",
                     "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip"],
                    base,
                )  # fmt: skip
            print(f"scaleout: web A :{port_a}, web B :{port_b}, two workers up", flush=True)

            a, b = Client(port_a), Client(port_b)
            check_sessions(report, a, b, setup["manager_name"])
            check_writes(report, a, b, setup["relationship"], run_id)
            check_sign_out(report, a, b)

            # d. The read replica: an executive reads reports, a manager writes.
            reader_a, writer_a = Client(port_a), Client(port_a)
            reader_a.sign_in("executive")
            writer_a.sign_in("manager")
            reader_b, writer_b = Client(port_b), Client(port_b)
            reader_b.cookies, writer_b.cookies = reader_a.cookies, writer_a.cookies
            readers = {"A": reader_a, "B": reader_b}
            writer = (writer_a, writer_b)
            relationship = setup["relationship"]
            time.sleep(1)  # signing in is a write: the replica must have replayed it
            check_report_reads(report, readers, relationship)
            check_lagging_replica(report, primary, replica, writer, reader_b, relationship, run_id)
            killed = check_replica_killed(report, replica, readers, writer, relationship, run_id)
            check_replica_back(report, primary, replica, readers, killed)

            # c. Reminders: beat (every BEAT_INTERVAL s) and six manual sends, all at once.
            since = shell_json(base, AUDIT_MARK_SCRIPT)
            beat = supervisor.start(
                "beat",
                [PYTHON, "-c", BEAT_BOOTSTRAP, str(work / "celerybeat-schedule"),
                 str(BEAT_INTERVAL)],
                base,
            )  # fmt: skip
            supervisor.wait_for_log("beat", "beat: Starting", beat)
            manual = shell_json(base, TRIGGER_SCRIPT.format(n=MANUAL_RUNS))
            time.sleep(BEAT_WINDOW)
            supervisor.stop(beat)
            facts["beat_sends"] = (
                (work / "beat.log").read_text(errors="replace").count("reviews.tasks.run_reminders")
            )
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                runs = {}
                for name in ("worker1", "worker2"):
                    for task_id, run in task_runs(
                        supervisor.log(name), "reviews.tasks.run_reminders"
                    ).items():
                        runs[task_id] = {**run, "worker": name}
                pending = [r for r in runs.values() if not r["finished"]]
                if not pending and not queue_length(redis_url) and set(manual) <= set(runs):
                    break
                time.sleep(1)
            time.sleep(1)  # mails are sent after the rows are stamped: let the last ones land
        facts["load_average_after"] = load_average()

        verify = shell_json(base, VERIFY_SCRIPT.replace("{since}", str(int(since))))
        mails = sink.parsed()
        check_reminders(report, verify, mails, runs, manual)
        facts["verify"] = verify
        facts["mails"] = len(mails)
        facts["task_runs"] = runs
    finally:
        sink.close()
        replica.destroy()
        primary.destroy()

    failed = [c for c in report.checks if not c["ok"]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"scaleout-{run_id}.json"
    output.write_text(
        json.dumps(
            {
                "when": run_id,
                "database": database_url.rsplit("/", 1)[-1],
                "redis": redis_url,
                "cpus": os.cpu_count(),
                **facts,
                "checks": report.checks,
                "logs": str(work),
            },
            indent=2,
            default=str,
        )
    )
    print(
        f"\nscaleout: load average before {facts['load_average_before']}, after "
        f"{facts.get('load_average_after')} ({os.cpu_count()} CPUs)"
    )
    print(f"scaleout: wrote {output.relative_to(ROOT)}")
    print(
        f"scaleout: {'PASS' if not failed else 'FAIL'} "
        f"({len(report.checks) - len(failed)}/{len(report.checks)} checks passed)"
    )
    return 1 if failed else 0


def check_reminders(
    report: Report, verify: dict, mails: list[dict], runs: dict, manual: list[str]
) -> None:
    finished = [r for r in runs.values() if r["finished"]]
    per_worker = Counter(r["worker"] for r in finished)
    results = [r.get("result") or {} for r in finished if r.get("ok")]
    notified = sum(r.get("notified", 0) for r in results)
    report.check(
        "c. the reminder task ran concurrently on both workers",
        len(finished) >= MANUAL_RUNS
        and set(manual) <= set(runs)
        and len(per_worker) == 2
        and all(r.get("ok") for r in finished),
        f"{len(finished)} runs ({MANUAL_RUNS} sent at once + {len(finished) - MANUAL_RUNS} from "
        f"beat): {dict(per_worker)}, up to {max_overlap(finished)} at the same time, "
        f"{sum(1 for r in finished if not r.get('ok'))} failed",
    )
    report.check(
        "c. each reminder recorded once",
        verify["reminders"] > 0 and verify["duplicate_reminders"] == 0,
        f"{verify['reminders']} reminders for {verify['recipients']} people "
        f"{verify['by_kind']}, {verify['duplicate_reminders']} duplicated "
        "(kind, subject, recipient, day)",
    )
    report.check(
        "c. each reminder delivered in-app exactly once",
        verify["not_notified"] == 0
        and verify["not_exactly_once_count"] == 0
        and verify["notification_events"] == verify["reminders"]
        and verify["events_without_reminder"] == 0
        and notified == verify["reminders"],
        f"{verify['notification_events']} notification writes ({verify['notification_inserts']} "
        f"inserts) and {verify['notification_rows']} notifications for {verify['reminders']} "
        f"reminders; the runs report {notified} delivered in total; "
        f"{verify['not_exactly_once_count']} reminders not exactly once",
        not_exactly_once=verify["not_exactly_once"],
    )
    # An escalation mail may list several reviews (one mail per person per run): what
    # counts is that no (person, review) is in two mails, and every one stamped is in one.
    escalation_mails = [m for m in mails if m["subject"].startswith("Escalation:")]
    escalated = Counter(
        (m["to"], int(review))
        for m in escalation_mails
        for review in REVIEW_LINK.findall(m["body"])
    )
    stamped = Counter((email, review) for email, review in verify["emailed_escalations"])
    digest_mails = Counter(m["to"] for m in mails if m["subject"].startswith("Rapport: "))
    feedback_mails = Counter(m["to"] for m in mails if "would value your feedback" in m["subject"])
    other = len(mails) - len(escalation_mails) - sum(digest_mails.values())
    other -= sum(feedback_mails.values())
    sent_escalations = sum(r.get("escalations", 0) for r in results)
    sent_digests = sum(r.get("digests", 0) for r in results)
    sent_feedback = sum(r.get("feedback_sent", 0) for r in results)
    ok = (
        escalated == stamped
        and max(escalated.values(), default=0) <= 1
        and digest_mails == Counter(verify["digests"])
        and max(digest_mails.values(), default=0) <= 1
        and feedback_mails == Counter(verify["feedback_sent"])
        and sent_escalations == len(escalation_mails)
        and sent_digests == sum(digest_mails.values())
        and sent_feedback == sum(feedback_mails.values())
        and other == 0
        and len(mails) > 0
    )
    twice = sum(1 for n in escalated.values() if n > 1)
    report.check(
        "c. each reminder e-mailed at most once",
        ok,
        f"{len(mails)} mails received by the SMTP sink: {len(escalation_mails)} escalation mails "
        f"naming {len(escalated)} (person, review) pairs for {len(stamped)} escalated reminders "
        f"stamped e-mailed ({twice} named twice); {sum(digest_mails.values())} digests to "
        f"{len(digest_mails)} people (at most one each, {verify['emailed_digest_reminders']} "
        f"reminders in them); {sum(feedback_mails.values())} feedback requests for "
        f"{sum(verify['feedback_sent'].values())} pending; {other} other; the runs report "
        f"{sent_escalations} escalation mails, {sent_digests} digests, {sent_feedback} feedback",
    )


if __name__ == "__main__":
    sys.exit(main())

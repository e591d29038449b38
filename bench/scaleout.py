"""`make scaleout`: two web instances, two Celery workers and beat sharing PostgreSQL and Redis.

Uses its own small database (SCALEOUT_DATABASE_URL, default rapport_scaleout: dropped,
recreated, migrated, `seed_demo --scale small`) and its own Redis database
(SCALEOUT_REDIS_URL, default redis://127.0.0.1:6379/8, flushed first). E-mail goes to an SMTP
sink on loopback run by this script, so every message sent is counted.

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
   (escalations one mail each, one digest per person, one mail per feedback request).

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
from urllib.parse import urlencode, urlsplit, urlunsplit

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

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/rapport_scaleout"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
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


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if "scaleout" not in name:
        raise SystemExit(
            f"scaleout: refusing to drop {name!r}: SCALEOUT_DATABASE_URL must name a database "
            "of its own (with 'scaleout' in its name)"
        )
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


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


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()

    database_url = os.environ.get("SCALEOUT_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("SCALEOUT_REDIS_URL", DEFAULT_REDIS)
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix=f"rapport-scaleout-{run_id}-"))
    print(f"scaleout: run {run_id}; logs in {work}", flush=True)
    report = Report()
    facts: dict = {"load_average_before": load_average()}

    sink = SMTPSink()
    port_a, port_b = free_port(), free_port()
    while port_b == port_a:
        port_b = free_port()
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
        print("scaleout: fresh database (migrate, seed_demo --scale small) …", flush=True)
        recreate_database(database_url)
        flush_redis(redis_url)
        manage(base, "migrate", "--noinput", "-v0")
        manage(base, "seed_demo", "--scale", "small")
        manage(base, "collectstatic", "--noinput", "-v0")
        setup = shell_json(base, SETUP_SCRIPT)
        facts["setup"] = setup
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

"""`python bench/reminders.py`: the first reminder catch-up on the large dataset, timed.

1. Prepares the bench database (BENCH_DATABASE_URL, default rapport_bench: migrated, loaded
   with `seed_demo --scale large` if missing) and copies it to a scratch database of its own
   (REMINDERS_DATABASE_URL, default rapport_bench_reminders: dropped and re-created with
   CREATE DATABASE … TEMPLATE), so every run starts from the same state and the bench
   database is left untouched.
2. Puts the copy in the "first catch-up" situation: no reminder, digest or reminder
   notification yet, no `review.overdue` event or webhook delivery. With ``--endpoint`` an
   active webhook endpoint subscribes to every event (its deliveries are written to the
   outbox; sending them is the delivery worker's job, not timed here).
3. Runs the hourly pipeline (`reminders_run`, what `reviews.tasks.run_reminders` calls;
   Celery eager, e-mail to a dummy backend) at 09:00 local time today, so digests are due
   too, and prints its time, the SQL statements it ran and what it delivered; then checks
   that every reminder was delivered exactly once (one unread notification per recipient and
   subject) and times a second run, which must find nothing new to deliver.

The figures are reported, not asserted (the tests pin exactly-once); it exits non-zero only
if the exactly-once check fails. Writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from common import (
    DEFAULT_DB,
    DEFAULT_REDIS,
    RESULTS,
    ROOT,
    free_port,
    load_average,
    manage,
    prepare,
    server_env,
    shell_json,
)

DEFAULT_SCRATCH = "postgres://postgres@127.0.0.1:5432/rapport_bench_reminders"

RESET = """
from django.db import transaction
from events.models import Event
from notifications.models import Notification
from reviews.models import Digest, Reminder
from webhooks.models import WebhookDelivery, WebhookEndpoint

with transaction.atomic():
    Reminder.objects.all().delete()
    Digest.objects.all().delete()
    Notification.objects.filter(kind__in=Reminder.Kind.values).delete()
    Event.objects.filter(verb="review.overdue").delete()
    WebhookDelivery.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    if {endpoint}:
        from events.vocabulary import WEBHOOK_VERBS

        WebhookEndpoint.objects.create(
            url="https://hooks.example.org/rapport", secret="bench", event_types=list(WEBHOOK_VERBS)
        )
"""

MEASURE = """
import json, time
from collections import Counter
from datetime import datetime, time as clock
from django.db import connection
from django.utils import timezone
from notifications.models import Notification
from reviews.models import Digest, Reminder
from reviews.reminders import reminders_run
from webhooks import tasks as webhook_tasks
from webhooks.models import WebhookDelivery

# Deliveries stay in the outbox: sending them is the delivery worker's job, not the run's.
webhook_tasks.enqueue = lambda task, *args: None

now = timezone.make_aware(datetime.combine(timezone.localdate(), clock(9)))


def timed_run():
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        # What reviews.tasks.run_reminders runs, at a fixed hour so that digests are due.
        summary = reminders_run(now=now)
    return round(time.perf_counter() - started, 2), statements, summary


first_seconds, first_queries, first = timed_run()
reminders = list(Reminder.objects.values_list("recipient_id", "review_id", "commitment_id",
                                              "kind", "notified_at"))
keys = Counter(Notification.objects.filter(kind__in=Reminder.Kind.values, read_at__isnull=True)
               .values_list("recipient_id", "key"))
expected = {
    (recipient, f"review:{review}:{kind}" if review else f"commitment:{commitment}:{kind}")
    for recipient, review, commitment, kind, _ in reminders
}
second_seconds, second_queries, second = timed_run()
print(json.dumps({
    "first": {"seconds": first_seconds, "queries": first_queries, "summary": first},
    "second": {"seconds": second_seconds, "queries": second_queries, "summary": second},
    "reminders": len(reminders),
    "undelivered": sum(1 for *_, notified_at in reminders if notified_at is None),
    "notifications": sum(keys.values()),
    "subjects_not_notified_once": sum(1 for key in expected if keys[key] != 1),
    "notifications_without_reminder": len(set(keys) - expected),
    "digests": Digest.objects.count(),
    "webhook_deliveries": WebhookDelivery.objects.count(),
}))
"""


def copy_database(source_url: str, target_url: str) -> None:
    import psycopg

    source = urlsplit(source_url).path.lstrip("/")
    target = urlsplit(target_url)
    name = target.path.lstrip("/")
    if "reminders" not in name or name == source:
        raise SystemExit(
            f"reminders bench: refusing to drop {name!r}: REMINDERS_DATABASE_URL must name a "
            "scratch database of its own (with 'reminders' in its name)"
        )
    maintenance = urlunsplit(target._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--endpoint", action="store_true", help="an active webhook endpoint takes every event"
    )
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    scratch_url = os.environ.get("REMINDERS_DATABASE_URL", DEFAULT_SCRATCH)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    prepare(server_env(database_url, redis_url, free_port()))

    started = time.perf_counter()
    copy_database(database_url, scratch_url)
    env = server_env(scratch_url, redis_url, free_port())
    env["CELERY_TASK_ALWAYS_EAGER"] = "True"
    manage(env, "shell", "-c", RESET.format(endpoint=args.endpoint))
    print(f"reminders bench: scratch copy ready in {time.perf_counter() - started:.1f} s")

    load_before = load_average()
    data = shell_json(env, MEASURE)
    data["load_average"] = {"before": load_before, "after": load_average()}
    data["endpoint"] = args.endpoint

    first, second = data["first"], data["second"]
    print(
        f"first catch-up: {first['seconds']} s, {first['queries']} SQL statements, "
        f"{data['reminders']} reminders ({first['summary']})"
    )
    print(
        f"second run:     {second['seconds']} s, {second['queries']} SQL statements "
        f"({second['summary']})"
    )
    print(
        f"exactly once: {data['undelivered']} undelivered, "
        f"{data['subjects_not_notified_once']} subjects not notified exactly once, "
        f"{data['notifications_without_reminder']} notifications without a reminder; "
        f"{data['notifications']} notifications, {data['digests']} digests, "
        f"{data['webhook_deliveries']} webhook deliveries; load {data['load_average']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"reminders-{datetime.now():%Y%m%d-%H%M%S}.json"
    output.write_text(json.dumps(data, indent=2))
    print(f"reminders bench: wrote {output.relative_to(ROOT)}")
    if data["undelivered"] or data["subjects_not_notified_once"] or second["summary"]["notified"]:
        raise SystemExit("reminders bench: FAIL, not delivered exactly once")


if __name__ == "__main__":
    main()

"""The beat task through real Redis and a real worker process, on the test database."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Notification
from reviews.models import Reminder, Review
from reviews.tasks import run_reminders
from reviews.tests.conftest import require_postgres
from tests.factories import RelationshipFactory
from tests.services import celery_worker, require_redis, wait_for

pytestmark = [
    pytest.mark.services,
    # Transactional: the other thread/process must see the rows. Serialized rollback puts
    # back the data-migration rows (categories, types) that the flush afterwards removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def worker_database_url() -> str:
    """DATABASE_URL of the test database, so the worker process sees the test's rows."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_the_beat_task_runs_on_a_real_worker_and_notifies(settings, manager_a, team_a, rel_type):
    require_redis()
    require_postgres()
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    Review.objects.filter(relationship=relationship).update(due_on=timezone.localdate())
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with celery_worker(extra_env={"DATABASE_URL": worker_database_url()}) as queue:
            result = run_reminders.apply_async(queue=queue)
            counts = result.get(timeout=90)
            # Run twice through the worker: still one reminder, one notification.
            run_reminders.apply_async(queue=queue).get(timeout=90)
    finally:
        app.conf.task_always_eager = True
    assert counts["notified"] == 1
    notification = wait_for(lambda: Notification.objects.filter(recipient=manager_a).first())
    assert notification.title.endswith("is due today")
    assert Reminder.objects.count() == 1
    assert Notification.objects.count() == 1

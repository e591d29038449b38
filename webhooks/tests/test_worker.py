"""A real worker on real Redis delivers a committed event to the local receiver."""

from __future__ import annotations

import json

import pytest

from relationships import services as relationship_services
from relationships.models import Stage
from reviews.tests.conftest import require_postgres
from reviews.tests.test_worker import worker_database_url
from tests.services import celery_worker, require_redis, wait_for
from webhooks import services
from webhooks.models import EventType, WebhookDelivery

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_worker_delivers_after_commit_and_the_request_does_not_wait(
    settings, relationship, manager_a, admin_user, receiver
):
    require_redis()
    require_postgres()
    endpoint = services.endpoint_create(
        by=admin_user, url=receiver.url, event_types=[EventType.RELATIONSHIP_STAGE_CHANGED]
    )
    receiver.delay = 1.0  # slower than the transition itself
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    default_queue = app.conf.task_default_queue
    try:
        worker_env = {
            "DATABASE_URL": worker_database_url(),
            # The worker reads its own settings: allow the local receiver there too.
            "WEBHOOK_ALLOWED_INTERNAL_HOSTS": ",".join(settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS),
        }
        with celery_worker(extra_env=worker_env) as queue:
            app.conf.task_default_queue = queue
            relationship_services.relationship_transition(
                relationship=relationship, to_stage=Stage.REVIEW, by=manager_a
            )
            # Committed and returned: the worker has not delivered yet.
            assert WebhookDelivery.objects.get().status == "pending"
            delivery = wait_for(
                lambda: WebhookDelivery.objects.filter(status="succeeded").first(), timeout=60
            )
    finally:
        app.conf.task_default_queue = default_queue
        app.conf.task_always_eager = True
    [request] = receiver.requests
    assert services.signature_matches(
        endpoint.secret, request.body, request.headers["X-Rapport-Signature"]
    )
    assert json.loads(request.body)["data"]["transition"]["to_stage"] == "review"
    assert delivery.attempts == 1

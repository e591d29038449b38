from __future__ import annotations

import pytest
from django.urls import clear_url_caches

from core.context_processors import _available_sections
from tests.factories import RelationshipFactory, RelationshipTypeFactory
from webhooks import services
from webhooks.models import EventType
from webhooks.tests.receiver import start_receiver


@pytest.fixture(autouse=True)
def _webhooks_setup(settings):
    # Until the lead mounts webhooks/ in config/urls.py.
    settings.ROOT_URLCONF = "webhooks.tests.urls"
    settings.SITE_URL = "https://rapport.test"
    # Fast failures: a short read timeout, and retries that the eager task runs at once.
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 0.5
    from config.celery import app

    app.conf.task_always_eager = True
    clear_url_caches()
    _available_sections.cache_clear()
    yield
    clear_url_caches()
    _available_sections.cache_clear()


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(admin_user, receiver):
    return services.endpoint_create(by=admin_user, url=receiver.url, event_types=EventType.values)


@pytest.fixture
def relationship(manager_a, team_a):
    rel_type = RelationshipTypeFactory(name="Webhook test type", default_review_cadence_days=90)
    return RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")

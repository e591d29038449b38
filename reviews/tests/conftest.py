from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import clear_url_caches

from core.context_processors import _available_sections
from tests.factories import ContactFactory, RelationshipFactory, RelationshipTypeFactory


@pytest.fixture(autouse=True)
def _urls_and_clean_cache(settings):
    settings.ROOT_URLCONF = "reviews.tests.urls"
    settings.SITE_URL = "https://rapport.test"
    settings.ORGANISATION_NAME = "Acme Housing"
    clear_url_caches()
    _available_sections.cache_clear()
    cache.clear()  # rate-limit counters must not leak between tests
    yield
    clear_url_caches()
    _available_sections.cache_clear()


def require_postgres() -> None:
    """Skip on SQLite locally; in CI (CI=true) not running on PostgreSQL is a failure."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("CI"):
        pytest.fail("CI must run the concurrency tests on PostgreSQL (set DATABASE_URL)")
    pytest.skip("needs PostgreSQL (row locks, concurrent transactions)")


@pytest.fixture
def rel_type():
    return RelationshipTypeFactory(name="Quarterly test type", default_review_cadence_days=90)


@pytest.fixture
def relationship(manager_a, team_a, rel_type):
    """A relationship of manager_a in team_a, in review (its review is due)."""
    return RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="review")


@pytest.fixture
def contact(relationship):
    return ContactFactory(stakeholder=relationship.stakeholder, name="Jo Contact")

"""Suite-wide fixtures: the standard personas every app's tests use."""

from __future__ import annotations

import pytest

from tests.factories import TeamFactory, UserFactory

# One Playwright browser for the whole run, whichever app's tests use it.
pytest_plugins = ["tests.browser.fixtures"]


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path, request):
    # Fast password hashing keeps the suite quick; e-mail goes to the locmem outbox.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A fresh, private cache per test: rate-limit counters (API throttles, the survey page)
    # must not leak from one test to the next, and flushing the shared Redis would also
    # flush the Celery broker the worker tests use.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The sent-e-mail pages exist, as in development, whatever the environment says.
    settings.DEV_MAIL = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def team_a():
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b():
    return TeamFactory(name="Team B")


@pytest.fixture
def manager_a(team_a):
    return UserFactory(username="manager_a", role="manager", teams=[team_a])


@pytest.fixture
def manager_b(team_b):
    return UserFactory(username="manager_b", role="manager", teams=[team_b])


@pytest.fixture
def contributor_a(team_a):
    return UserFactory(username="contributor_a", role="contributor", teams=[team_a])


@pytest.fixture
def executive():
    return UserFactory(username="exec", role="executive")


@pytest.fixture
def admin_user():
    return UserFactory(username="boss", role="admin")

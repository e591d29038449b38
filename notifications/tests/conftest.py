from __future__ import annotations

import pytest
from django.urls import clear_url_caches

from core.context_processors import _available_sections


@pytest.fixture(autouse=True)
def _urls(settings):
    # Until the lead mounts notifications/ in config/urls.py.
    settings.ROOT_URLCONF = "reviews.tests.urls"
    clear_url_caches()
    _available_sections.cache_clear()
    yield
    clear_url_caches()
    _available_sections.cache_clear()

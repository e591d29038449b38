from __future__ import annotations

import pytest
from django.urls import clear_url_caches

from core.context_processors import _available_sections


@pytest.fixture(autouse=True)
def _dashboard_urls(settings):
    # Until config/urls.py includes dashboard.urls (the lead wires it), serve it from here.
    settings.ROOT_URLCONF = "dashboard.tests.urls"
    clear_url_caches()
    _available_sections.cache_clear()
    yield
    clear_url_caches()
    _available_sections.cache_clear()

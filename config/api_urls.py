"""The REST API under /api/v1/: one router; each app lists its resources in its api.py.

An app's api.py exposes ROUTES, a list of (prefix, viewset, basename), and optionally URLS,
extra urlpatterns (e.g. non-resource endpoints). Keeping the list here explicit makes the
API's surface easy to review.
"""

from importlib import import_module

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api

API_APPS = [
    "accounts",
    "stakeholders",
    "relationships",
    "plans",
    "reviews",
    "notifications",
    "dashboard",
    "webhooks",
    "events",
]

# No ".json" suffix routes: the API speaks JSON only, and views that take no ``format``
# argument answered 500 on them (e.g. /api/v1/objectives/tree.json).
router = DefaultRouter()
router.include_format_suffixes = False
extra_urls = []
for app in API_APPS:
    try:
        module = import_module(f"{app}.api")
    except ModuleNotFoundError as missing:
        if missing.name != f"{app}.api":
            raise
        continue
    for prefix, viewset, basename in getattr(module, "ROUTES", []):
        router.register(prefix, viewset, basename=basename)
    extra_urls += getattr(module, "URLS", [])

urlpatterns = [
    path("auth/token/", accounts_api.ObtainTokenView.as_view(), name="auth-token"),
    *extra_urls,
    *router.urls,
]

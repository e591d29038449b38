"""The real URLconf plus views that fail on purpose, for tests/security/test_errors.py."""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns

SECRET_IN_MESSAGE = "s3cr3t-in-the-exception-message"


def explode(request):
    raise RuntimeError(f"database password is {SECRET_IN_MESSAGE}")


def suspicious(request):
    raise SuspiciousOperation("tampered input")


urlpatterns = [
    path("_test/explode/", explode),
    path("_test/suspicious/", suspicious),
    *urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

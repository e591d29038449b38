"""A URLconf with a route the crawl cannot fill: tests/security/test_headers.py proves that
such a route fails the crawl instead of being skipped."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("widgets/<int:widget_pk>/", lambda request, widget_pk: HttpResponse(), name="widget"),
]

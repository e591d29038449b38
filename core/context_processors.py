from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

SECTIONS = [
    ("Stakeholders", "stakeholders"),
    ("Relationships", "relationships"),
    ("Plans", "plans"),
    ("Reviews", "reviews"),
    ("Dashboard", "dashboard"),
]


@cache
def _available_sections() -> tuple[tuple[str, str, str], ...]:
    # A section appears once its app serves an index page, so the bar never links to a 404.
    found = []
    for label, namespace in SECTIONS:
        try:
            found.append((label, namespace, reverse(f"{namespace}:index")))
        except NoReverseMatch:
            continue
    return tuple(found)


def navigation(request: HttpRequest) -> dict:
    """The main navigation, with the section the current URL belongs to marked active."""
    match = getattr(request, "resolver_match", None)
    return {
        "nav_sections": _available_sections(),
        "nav_active": match.namespace if match else "",
        # Development keeps sent e-mails for admins to read (devmail): the menu links them.
        "nav_dev_mail": settings.DEV_MAIL,
    }

"""URLs for notifications and e-mails, built without a request.

Tasks run in a worker that may not have this app's URLs mounted yet, so fall back to the
planned paths instead of failing. Absolute links come from ``core.links.absolute_url``.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def _path(name: str, fallback: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def review_path(pk: int) -> str:
    return _path("reviews:detail", f"/reviews/{pk}/", pk)


def relationship_path(pk: int) -> str:
    return _path("relationships:detail", f"/relationships/{pk}/", pk)


def reviews_index_path() -> str:
    return _path("reviews:index", "/reviews/")


def feedback_path(token: str) -> str:
    return _path("feedback:answer", f"/feedback/{token}/", token)

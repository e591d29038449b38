"""Absolute links for e-mails and webhook payloads: always ``SITE_URL`` + path.

Never the request's Host header: a forged Host (or any port on an allowed host) would
otherwise put an attacker's address into a password-reset e-mail and collect the token.
"""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """``/reviews/4/`` → ``https://rapport.example.org/reviews/4/`` (SITE_URL + path)."""
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")

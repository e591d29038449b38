"""Shared helpers for the relationship page tests."""

from __future__ import annotations

from django.test import Client

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client

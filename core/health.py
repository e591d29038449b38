"""Readiness probes for /healthz: each answers True or a short reason it is down."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from core import dbrouting


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the probe must not raise
        return f"down: {exc.__class__.__name__}"
    return "ok"


def broker_status() -> str:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1,
                interval_start=0,
                timeout=settings.RAPPORT_HEALTH_BROKER_TIMEOUT,
            )
    except Exception as exc:  # kombu raises many kinds; all of them mean "unreachable"
        return f"down: {exc.__class__.__name__}"
    return "ok"


def replica_status() -> str | None:
    """The read replica (DATABASE_REPLICA_URL), or None without one. Reported, never a reason
    to fail the probe: without the replica, report reads are served by the primary."""
    if not dbrouting.replica_configured():
        return None
    return dbrouting.replica_status()

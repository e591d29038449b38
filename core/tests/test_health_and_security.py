from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_answers_503_when_the_broker_is_unreachable(client, settings):
    from config.celery import app

    # A real connection attempt to a port where nothing listens.
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("healthz"))
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"].startswith("down")
    assert body["database"] == "ok"


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    from core import health

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


def test_pages_carry_a_csp_without_inline_scripts(client, manager_a):
    client.force_login(manager_a)
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in response.content  # no inline script blocks at all


def test_htmx_posts_pass_csrf_with_the_header_from_the_page(manager_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_a)
    page = client.get(reverse("profile"))
    token = page.context["csrf_token"]
    assert f'"X-CSRFToken": "{token}"' in page.content.decode()
    headers = {"HX-Request": "true", "X-CSRFToken": str(token)}
    data = {"first_name": "M", "last_name": "A", "email": manager_a.email}
    assert client.post(reverse("profile"), data, headers=headers).status_code == 302
    assert client.post(reverse("profile"), data, headers={"HX-Request": "true"}).status_code == 403


def test_htmx_and_assets_come_from_installed_packages(client, manager_a):
    from django.contrib.staticfiles import finders

    client.force_login(manager_a)
    html = client.get(reverse("home")).content.decode()
    for asset in ("django_htmx/htmx-2.min.js", "bootstrap/css/bootstrap.min.css"):
        assert asset in html
        assert finders.find(asset), asset
    assert "cdn" not in html.lower()


def test_seed_demo_is_idempotent():
    from django.core.management import call_command

    from accounts.models import Team, User
    from relationships.models import Interaction, Relationship
    from stakeholders.models import Stakeholder

    def counts():
        return [
            model.objects.count() for model in (User, Team, Stakeholder, Relationship, Interaction)
        ]

    call_command("seed_demo", "--scale", "small")
    first = counts()
    assert first[2:4] == [40, 30]
    call_command("seed_demo", "--scale", "small")
    assert counts() == first
    assert set(User.objects.values_list("role", flat=True)) == {
        "admin",
        "executive",
        "manager",
        "contributor",
    }

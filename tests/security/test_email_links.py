"""Every absolute link the app sends out (e-mails, webhook payloads) starts with SITE_URL,
never with the Host of the request that caused it: a foreign Host or port must not put an
attacker's listener into a password-reset e-mail (reset poisoning)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import ContactFactory, RelationshipFactory, UserFactory
from webhooks.payloads import relationship_data

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://rapport.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:31337", "localhost:8081", "[::1]:4444", "testserver:1234", "127.0.0.1"]
)
def test_the_password_reset_link_comes_from_site_url_whatever_the_host(client, host):
    UserFactory(username="victim", email="victim@example.org")
    response = client.post(
        reverse("password_reset"), {"email": "victim@example.org"}, HTTP_HOST=host
    )
    assert response.status_code == 302
    [message] = mail.outbox
    [link] = links_in(message.body)
    assert link.startswith(f"{SITE}/accounts/password/reset/")


def test_a_host_outside_allowed_hosts_gets_no_email_at_all(client):
    UserFactory(username="victim", email="victim@example.org")
    response = client.post(
        reverse("password_reset"), {"email": "victim@example.org"}, HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    assert mail.outbox == []


def test_a_survey_link_comes_from_site_url_whatever_the_host(
    client, manager_a, team_a, django_capture_on_commit_callbacks
):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    contact = ContactFactory(stakeholder=relationship.stakeholder, email="jo@example.org")
    client.force_login(manager_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("reviews:feedback_request", args=[relationship.pk]),
            {"contact": contact.pk, "message": "How are we doing?"},
            HTTP_HOST="127.0.0.1:31337",
        )
    [message] = mail.outbox
    assert [link.split("/feedback/")[0] for link in links_in(message.body)] == [SITE]


def test_webhook_payload_links_come_from_site_url(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    assert relationship_data(relationship)["url"] == f"{SITE}/relationships/{relationship.pk}/"


def test_no_template_or_module_builds_a_link_from_the_request():
    # The class of bug, not the one e-mail: Django's reset context offers {{ domain }} and
    # {{ protocol }} from the request; build_absolute_uri() and get_host() read the Host.
    offenders = []
    for path in ROOT.glob("**/templates/**/*"):
        if path.is_file() and ".venv" not in path.parts:
            text = path.read_text(errors="ignore")
            if re.search(r"{{\s*(domain|protocol|site_name)\s*}}", text):
                offenders.append(str(path.relative_to(ROOT)))
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        if "build_absolute_uri(" in path.read_text(errors="ignore"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

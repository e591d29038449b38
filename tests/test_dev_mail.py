"""Sent e-mails in development (devmail): every message the app sends, from the web server or
a Celery task, is kept in the database, and admins read it in the app; nobody else can."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from devmail import services
from devmail.models import SentEmail
from reviews.services import feedback_request_create
from tests.factories import ContactFactory, RelationshipFactory, RelationshipTypeFactory

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert('mail')</script>"


@pytest.fixture(autouse=True)
def _kept(settings):
    settings.EMAIL_BACKEND = "devmail.backend.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8080"


def _send(subject: str = "Hello", body: str = "Text", to: str = "ann@example.org", html=None):
    message = EmailMultiAlternatives(subject, body, "Rapport <rapport@localhost>", [to])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def test_an_email_sent_from_a_celery_task_is_kept_with_its_link(
    manager_a, team_a, django_capture_on_commit_callbacks, caplog
):
    relationship = RelationshipFactory(
        team=team_a, manager=manager_a, stage="build", type=RelationshipTypeFactory()
    )
    contact = ContactFactory(stakeholder=relationship.stakeholder, email="ann@partner.example")
    caplog.set_level("INFO", logger="devmail")
    # The survey e-mail goes out from reviews.tasks.send_feedback_request (eager in tests).
    with django_capture_on_commit_callbacks(execute=True):
        feedback_request_create(
            relationship=relationship, contact=contact, by=manager_a, message="How are we doing?"
        )
    assert mail.outbox == []  # kept, not delivered
    [kept] = SentEmail.objects.all()
    assert kept.to == "ann@partner.example"
    assert "feedback" in kept.subject
    assert "How are we doing?" in kept.body
    assert re.search(r"http://127\.0\.0\.1:8080/feedback/\S+/", kept.body)
    assert "Subject: " in kept.source and "To: ann@partner.example" in kept.source
    # One line where the sender runs, pointing at the page that shows it.
    assert f"http://127.0.0.1:8080/dev/mail/{kept.pk}/" in caplog.text


def test_an_admin_reads_the_kept_emails_newest_first_page_by_page(client, admin_user):
    for n in range(27):
        _send(subject=f"Digest {n:02d}")
    client.force_login(admin_user)
    response = client.get(reverse("devmail:index"))
    assert response.status_code == 200
    html = response.content.decode()
    subjects = re.findall(r"Digest \d\d", html)
    assert subjects[:2] == ["Digest 26", "Digest 25"] and len(subjects) == 25
    assert "27 kept" in html and "Page 1 of 2" in html
    older = client.get(reverse("devmail:index"), {"page": 2}).content.decode()
    assert re.findall(r"Digest \d\d", older) == ["Digest 01", "Digest 00"]


def test_the_list_costs_the_same_few_queries_however_many_emails(
    client, admin_user, django_assert_max_num_queries
):
    for n in range(30):
        _send(subject=f"Digest {n}")
    client.force_login(admin_user)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("devmail:index")).status_code == 200


def test_an_email_is_shown_as_text_with_its_web_links_clickable(client, admin_user):
    _send(
        subject=f"Review {PAYLOAD}",
        body=f"Hi {PAYLOAD}\nAnswer at http://127.0.0.1:8080/feedback/abc/\njavascript:alert(1)",
        html=f"<p>Hi</p>{PAYLOAD}",
    )
    kept = SentEmail.objects.get()
    client.force_login(admin_user)
    html = client.get(reverse("devmail:detail", args=[kept.pk])).content.decode()
    assert PAYLOAD not in html
    assert "Hi &lt;script&gt;alert(&#x27;mail&#x27;)&lt;/script&gt;" in html
    assert '<a href="http://127.0.0.1:8080/feedback/abc/" rel="nofollow">' in html
    assert 'href="javascript' not in html
    assert "&lt;p&gt;Hi&lt;/p&gt;" in html  # the HTML part as source, never rendered


@pytest.mark.parametrize("who", ["manager_a", "contributor_a", "executive"])
def test_anyone_but_an_admin_is_told_there_is_no_such_page(client, request, who):
    _send()
    client.force_login(request.getfixturevalue(who))
    kept = SentEmail.objects.get()
    assert client.get(reverse("devmail:index")).status_code == 404
    assert client.get(reverse("devmail:detail", args=[kept.pk])).status_code == 404


def test_outside_development_the_pages_do_not_exist_even_for_admins(client, admin_user, settings):
    _send()
    settings.DEV_MAIL = False
    client.force_login(admin_user)
    assert client.get(reverse("devmail:index")).status_code == 404
    assert client.get(reverse("devmail:detail", args=[1])).status_code == 404
    assert "Sent e-mails" not in client.get(reverse("profile")).content.decode()


def test_the_admins_menu_links_the_sent_emails_in_development(client, admin_user, manager_a):
    link = f'href="{reverse("devmail:index")}">Sent e-mails</a>'
    client.force_login(admin_user)
    assert link in client.get(reverse("profile")).content.decode()
    client.force_login(manager_a)
    assert link not in client.get(reverse("profile")).content.decode()


def test_only_the_newest_emails_are_kept(monkeypatch):
    monkeypatch.setattr(services, "KEEP", 3)
    for n in range(5):
        _send(subject=f"Reminder {n}")
    assert list(SentEmail.objects.values_list("subject", flat=True)) == [
        "Reminder 4",
        "Reminder 3",
        "Reminder 2",
    ]


def test_a_message_without_recipients_is_not_kept():
    assert EmailMultiAlternatives("Nobody", "Text", "rapport@localhost", []).send() == 0
    assert not SentEmail.objects.exists()

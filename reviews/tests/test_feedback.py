"""Stakeholder feedback: the signed single-use link, the public page, the perception gap."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.signing import TimestampSigner
from django.urls import reverse
from django.utils import timezone

from core.errors import PermissionRefused, RuleViolation
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from reviews.services import feedback_request_create, feedback_token
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

ANSWER = {
    "satisfaction": "8",
    "responsiveness": "4",
    "communication": "5",
    "value": "3",
    "comment": "Quick and clear.",
}


@pytest.fixture
def sent(relationship, contact, manager_a, django_capture_on_commit_callbacks):
    """A request e-mailed through the task (eager in tests); returns (request, link path)."""
    with django_capture_on_commit_callbacks(execute=True):
        request = feedback_request_create(
            relationship=relationship, contact=contact, by=manager_a, message="How are we doing?"
        )
    [email] = mail.outbox
    link = re.search(r"https://rapport\.test(/feedback/\S+/)", email.body).group(1)
    request.refresh_from_db()
    return request, link


def test_sending_a_request_emails_a_personal_link_to_the_contact(sent, contact):
    request, link = sent
    [email] = mail.outbox
    assert email.to == [contact.email]
    assert email.subject == "Acme Housing would value your feedback"
    assert "How are we doing?" in email.body
    assert request.sent_at is not None and request.nonce_hash
    assert link.split("/")[2] not in request.nonce_hash  # only a hash is stored


def test_the_public_page_asks_the_questions_and_shows_nothing_else(client, sent, relationship):
    _, link = sent
    response = client.get(link)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Housing would value your feedback" in html
    assert "How are we doing?" in html
    for private in (relationship.stakeholder.name, str(relationship.manager), "Team A", "Rapport"):
        assert private not in html
    assert "<script" not in html and "style=" not in html


def test_an_answer_attaches_to_the_relationship_and_the_link_then_stops_working(
    client, sent, relationship, manager_a
):
    request, link = sent
    response = client.post(link, ANSWER)
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    answer = FeedbackResponse.objects.get()
    assert (answer.relationship, answer.satisfaction, answer.comment) == (
        relationship,
        8,
        "Quick and clear.",
    )
    request.refresh_from_db()
    assert request.answered_at is not None
    assert manager_a.notifications.filter(kind="feedback_received").exists()
    # Reused: a clear page, not a second answer.
    again = client.post(link, ANSWER)
    assert again.status_code == 410
    assert "already in" in again.content.decode()
    assert client.get(link).status_code == 410
    assert FeedbackResponse.objects.count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:],
        lambda link: link.replace("/feedback/", "/feedback/x"),
        lambda link: "/feedback/not-a-token/",
        lambda link: "/feedback/" + "%00%ff" * 5 + "/",
    ],
)
def test_a_tampered_link_gets_a_clear_page_not_an_error(client, sent, tamper):
    response = client.get(tamper(sent[1]))
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert client.post(tamper(sent[1]), ANSWER).status_code == 400
    assert not FeedbackResponse.objects.exists()


def test_a_validly_signed_link_with_a_wrong_nonce_is_refused(client, sent):
    request, _ = sent
    forged = feedback_token(request.pk, "guessed-nonce")
    assert client.get(f"/feedback/{forged}/").status_code == 400


def test_a_link_signed_with_another_salt_is_refused(client, sent):
    request, _ = sent
    forged = TimestampSigner().sign(f"{request.pk}")
    assert client.get(f"/feedback/{forged}/").status_code == 400


def test_an_expired_link_gets_a_clear_page(client, sent):
    _, link = sent
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_invalid_answers_are_shown_inline(client, sent):
    response = client.post(sent[1], {**ANSWER, "satisfaction": "11", "value": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_satisfaction_error"' in html and 'id="id_value_error"' in html
    assert not FeedbackResponse.objects.exists()


def test_the_public_page_is_rate_limited(client, settings, sent):
    settings.FEEDBACK_RATE_LIMIT = 3
    statuses = [client.get("/feedback/guess/").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    blocked = client.get(sent[1])
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()


def test_only_those_who_may_change_the_relationship_send_requests(
    relationship, contact, manager_b, executive
):
    for user in (manager_b, executive):
        with pytest.raises(PermissionRefused):
            feedback_request_create(relationship=relationship, contact=contact, by=user)


def test_a_contact_of_another_stakeholder_cannot_be_asked(relationship, manager_a):
    stranger = ContactFactory()
    with pytest.raises(RuleViolation) as caught:
        feedback_request_create(relationship=relationship, contact=stranger, by=manager_a)
    assert caught.value.field == "contact"


def test_with_the_broker_down_the_request_is_kept_and_the_hourly_run_sends_it(
    client, relationship, contact, manager_a, django_capture_on_commit_callbacks
):
    client.force_login(manager_a)
    url = reverse("reviews:feedback_request", args=[relationship.pk])
    with (
        mock.patch("reviews.tasks.send_feedback_request.delay", side_effect=OSError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(url, {"contact": contact.pk, "message": ""})
    assert response.status_code == 302  # the web app keeps working
    request = FeedbackRequest.objects.get()
    assert request.sent_at is None and mail.outbox == []
    from reviews.reminders import reminders_run

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        reminders_run()
        reminders_run()
    request.refresh_from_db()
    assert request.sent_at is not None
    assert len(mail.outbox) == 1


def test_the_relationship_page_shows_the_perception_gap(client, sent, relationship, manager_a):
    _, link = sent
    client.post(link, {**ANSWER, "satisfaction": "5"})  # 5/10 ≈ 3/5
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    from reviews.services import review_complete

    review_complete(
        review=review,
        ratings={
            "trust": 5,
            "communication": 5,
            "value_to_us": 5,
            "value_to_them": 5,
            "overall": 5,
        },
        decision="grow",
        by=manager_a,
    )
    client.force_login(manager_a)
    html = client.get(reverse("reviews:relationship", args=[relationship.pk])).content.decode()
    gap = html[html.index('id="perception-gap"') :]
    assert "5/10" in gap and "(≈ 3.0/5)" in gap
    assert "5/5" in gap
    assert "+2.0" in gap and "We rate the relationship higher than they do." in gap


def test_feedback_feeds_the_health_score(client, sent, relationship):
    from relationships.services import relationship_refresh_health

    relationship_refresh_health(relationship)
    before = relationship.health_score
    client.post(sent[1], {**ANSWER, "satisfaction": "0"})  # 0/10 → 1/5 → −20
    relationship.refresh_from_db()
    assert relationship.health_score == before - 20

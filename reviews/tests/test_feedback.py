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


# --- Sending a request from its page: confirmation and the link to share (#16, 8) -------------


def _survey_path(link: str) -> str:
    return re.search(r"https://rapport\.test(/feedback/\S+?/)", link).group(1)


def test_sent_over_htmx_the_form_gives_way_to_a_confirmation_with_the_link_to_copy(
    client, relationship, contact, manager_a
):
    client.force_login(manager_a)
    url = reverse("reviews:feedback_request", args=[relationship.pk])
    response = client.post(url, {"contact": contact.pk, "message": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # in place of the form, not a page inside the page
    assert 'id="request-sent"' in html and "Feedback request sent to <strong>Jo Contact" in html
    assert 'id="relationship-reviews"' not in html  # not the Reviews card under the old heading
    assert 'data-copy="survey-link"' in html
    assert f'href="{relationship.get_absolute_url()}">Back to the relationship' in html
    request = FeedbackRequest.objects.get()
    assert request.copy_nonce_hash and request.copy_nonce_hash != request.nonce_hash
    # The link shown works: it opens the survey.
    link = re.search(r'id="survey-link" value="([^"]+)"', html).group(1)
    client.logout()
    assert client.get(_survey_path(link)).status_code == 200
    # Confirmed in place: no message left over for the next page.
    client.force_login(manager_a)
    page = client.get(relationship.get_absolute_url()).content.decode()
    assert "Feedback request sent" not in page


def test_sent_as_a_plain_post_it_returns_to_the_relationship_saying_so_with_the_link(
    client, relationship, contact, manager_a
):
    client.force_login(manager_a)
    url = reverse("reviews:feedback_request", args=[relationship.pk])
    response = client.post(url, {"contact": contact.pk, "message": ""}, follow=True)
    assert response.redirect_chain == [(relationship.get_absolute_url(), 302)]
    html = response.content.decode()
    message = html[html.index('id="messages"') :]
    assert "Feedback request sent to Jo Contact" in message
    client.logout()
    assert client.get(_survey_path(message)).status_code == 200


def test_either_link_answers_the_survey_and_then_both_are_used(
    client, relationship, contact, manager_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = feedback_request_create(relationship=relationship, contact=contact, by=manager_a)
    [email] = mail.outbox
    emailed = re.search(r"https://rapport\.test(/feedback/\S+/)", email.body).group(1)
    copied = _survey_path(request.copy_link)
    assert copied != emailed
    assert client.post(copied, ANSWER).status_code == 200
    assert client.get(emailed).status_code == 410
    assert client.post(emailed, ANSWER).status_code == 410
    assert FeedbackResponse.objects.count() == 1


# --- The health card agrees with the figures beside it (#16, 9) ------------------------------


def test_the_health_card_says_the_rating_is_blended_and_lists_what_lifts_it_apart(
    client, sent, relationship, manager_a
):
    from relationships.services import interaction_log
    from reviews.services import review_complete

    for sentiment in (0, 1, 0, 1, 1):  # average +0.6: warm, short of +2
        interaction_log(
            relationship=relationship,
            by=manager_a,
            occurred_on=timezone.localdate(),
            channel="call",
            summary="Catch-up",
            sentiment=sentiment,
        )
    client.post(sent[1], {**ANSWER, "satisfaction": "5"})  # 5/10 ≈ 3.0/5
    review_complete(
        review=relationship.reviews.get(status=Review.Status.SCHEDULED),
        ratings={
            "trust": 4,
            "communication": 4,
            "value_to_us": 4,
            "value_to_them": 4,
            "overall": 4,
        },
        decision="grow",
        by=manager_a,
    )
    client.force_login(manager_a)
    html = client.get(relationship.get_absolute_url()).content.decode()
    health = html[html.index('id="health"') : html.index("How the score is computed")]
    lifts = health[health.index('id="health-lifts"') :]
    assert (
        "Review and feedback 3.5/5, blended from our latest review (4/5) and their latest "
        "feedback (5/10 ≈ 3.0/5)" in lifts
    )
    assert "Average sentiment +0.6 over the last 5 interactions" in lifts
    assert "Latest review rated 3/5" not in html  # the old floor of the blend
    assert 'id="health-reasons"' not in health and "Nothing pulls it down." in health
    gap = html[html.index('id="perception-gap"') :]
    assert "4/5" in gap and "5/10" in gap  # the figures the blend names


# --- The public page: favicon, and naming us when no name is set (#16, 12) ---------------------


def test_the_public_page_has_the_favicon(client, sent):
    html = client.get(sent[1]).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_without_an_organisation_name_the_survey_says_we_and_us(
    client, settings, relationship, contact, manager_a, django_capture_on_commit_callbacks
):
    settings.ORGANISATION_NAME = ""
    with django_capture_on_commit_callbacks(execute=True):
        feedback_request_create(relationship=relationship, contact=contact, by=manager_a)
    [email] = mail.outbox
    assert email.subject == "We would value your feedback"
    assert "We would value your feedback on working together." in email.body
    link = re.search(r"https://rapport\.test(/feedback/\S+/)", email.body).group(1)
    page = client.get(link).content.decode()
    assert "We would value your feedback" in page and "Our organisation" not in page
    thanks = client.post(link, ANSWER).content.decode()
    assert "Your feedback has reached us." in thanks

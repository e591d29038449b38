"""Events become signed POSTs to a real local receiver, after commit, with retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import Event
from notifications.models import Notification
from relationships import services as relationship_services
from relationships.models import Stage
from reviews.models import Review
from tests.factories import StakeholderFactory, UserFactory
from webhooks import services, tasks
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

RATINGS = {"trust": 4, "communication": 4, "value_to_us": 4, "value_to_them": 4, "overall": 4}


def end(relationship, by):
    relationship_services.relationship_transition(
        relationship=relationship, to_stage=Stage.ENDED, by=by, note="It has not worked."
    )


def expected_signature(secret: str, body: bytes) -> str:
    """What a receiver computes: written out here, independent of webhooks.services.sign."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- Signature and payload ------------------------------------------------------------


def test_a_stage_change_reaches_the_receiver_signed_with_the_endpoint_secret(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(relationship, manager_a)

    assert [r.headers["X-Rapport-Event"] for r in receiver.requests] == [
        "relationship.stage_changed",
        "relationship.ended",
    ]
    for request in receiver.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Rapport-Signature"] == expected_signature(
            endpoint.secret, request.body
        )
        body = json.loads(request.body)
        assert body["id"] == request.headers["X-Rapport-Delivery"]
        assert uuid.UUID(body["id"])
        assert body["type"] == request.headers["X-Rapport-Event"]
        assert body["created_at"]
        assert body["data"]["relationship"]["id"] == relationship.pk
        assert body["data"]["relationship"]["stage"] == "ended"
        assert body["data"]["transition"] == {
            "from_stage": "build",
            "to_stage": "ended",
            "note": "It has not worked.",
            "by": "manager_a",
            "at": body["data"]["transition"]["at"],
        }
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_tampered_body_or_another_secret_does_not_verify(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        relationship_services.relationship_transition(
            relationship=relationship, to_stage=Stage.REVIEW, by=manager_a
        )
    request = receiver.requests[0]
    header = request.headers["X-Rapport-Signature"]
    assert services.signature_matches(endpoint.secret, request.body, header)
    assert not services.signature_matches(endpoint.secret, request.body + b" ", header)
    assert not services.signature_matches("whsec_other", request.body, header)


def test_relationship_created_is_sent(
    manager_a, team_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        relationship = relationship_services.relationship_create(
            stakeholder=StakeholderFactory(name="Acme Ltd"), by=manager_a, team=team_a
        )
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "relationship.created"
    assert body["data"]["relationship"]["id"] == relationship.pk
    assert body["data"]["relationship"]["stakeholder"]["name"] == "Acme Ltd"


def test_review_completed_is_sent_through_the_api(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    review = Review.objects.get(relationship=relationship, status="scheduled")
    api = APIClient()
    api.force_authenticate(manager_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/reviews/{review.pk}/complete/",
            {**RATINGS, "decision": "grow"},
            format="json",
        )
    assert response.status_code == 200, response.json()
    kinds = [r.headers["X-Rapport-Event"] for r in receiver.requests]
    assert "review.completed" in kinds
    completed = json.loads(receiver.requests[kinds.index("review.completed")].body)
    assert completed["data"]["review"]["id"] == review.pk
    assert completed["data"]["review"]["decision"] == "grow"
    assert completed["data"]["review"]["ratings"]["overall"] == 4
    # Free-text notes stay inside Rapport.
    assert "went_well" not in completed["data"]["review"]


def test_feedback_received_is_sent_without_the_comment(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    from reviews import services as review_services
    from reviews.models import FeedbackRequest, hash_nonce
    from tests.factories import ContactFactory

    contact = ContactFactory(stakeholder=relationship.stakeholder)
    request = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        sent_by=manager_a,
        expires_at=timezone.now() + timedelta(days=3),
        nonce_hash=hash_nonce("n0nce"),
        sent_at=timezone.now(),
    )
    token = review_services.feedback_token(request.pk, "n0nce")
    with django_capture_on_commit_callbacks(execute=True):
        review_services.feedback_response_submit(
            token=token,
            satisfaction=9,
            responsiveness=5,
            communication=4,
            value=5,
            comment="Private words",
        )
    [sent] = receiver.requests
    body = json.loads(sent.body)
    assert body["type"] == "feedback.received"
    assert body["data"]["feedback"]["satisfaction"] == 9
    assert b"Private words" not in sent.body


def test_review_overdue_is_sent_once_per_review_however_many_reminder_runs(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    from reviews.reminders import reminders_deliver, reminders_scan

    Review.objects.filter(relationship=relationship, status="scheduled").update(
        due_on=timezone.localdate() - timedelta(days=3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        reminders_scan()
        reminders_deliver()
    with django_capture_on_commit_callbacks(execute=True):
        reminders_scan(today=timezone.localdate() + timedelta(days=1))
        reminders_deliver(today=timezone.localdate() + timedelta(days=1))
    overdue = [r for r in receiver.requests if r.headers["X-Rapport-Event"] == "review.overdue"]
    assert len(overdue) == 1
    assert json.loads(overdue[0].body)["data"]["review"]["days_overdue"] == 3


# --- Who gets what ----------------------------------------------------------------------


def test_only_active_subscribed_endpoints_get_the_event(
    relationship, manager_a, admin_user, receiver, django_capture_on_commit_callbacks
):
    services.endpoint_create(
        by=admin_user, url=receiver.url + "?only=created", event_types=["relationship.created"]
    )
    services.endpoint_create(
        by=admin_user, url=receiver.url + "?off", event_types=EventType.values, active=False
    )
    wanted = services.endpoint_create(
        by=admin_user, url=receiver.url + "?ended", event_types=["relationship.ended"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        end(relationship, manager_a)
    assert [r.path for r in receiver.requests] == ["/hooks/rapport?ended"]
    assert WebhookDelivery.objects.get().endpoint == wanted


def test_confidential_relationships_only_go_to_endpoints_that_include_them(
    relationship, manager_a, admin_user, receiver, django_capture_on_commit_callbacks
):
    relationship.confidential = True
    relationship.save()
    services.endpoint_create(
        by=admin_user, url=receiver.url + "?plain", event_types=["relationship.ended"]
    )
    services.endpoint_create(
        by=admin_user,
        url=receiver.url + "?trusted",
        event_types=["relationship.ended"],
        include_confidential=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        end(relationship, manager_a)
    assert [r.path for r in receiver.requests] == ["/hooks/rapport?trusted"]


def test_a_rolled_back_change_sends_nothing(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        end(relationship, manager_a)
        raise RuntimeError("something after the transition failed")
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


# --- Never in the request ---------------------------------------------------------------


def test_the_request_that_causes_an_event_does_not_wait_for_a_slow_endpoint(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.delay = 2.0
    review = Review.objects.get(relationship=relationship, status="scheduled")
    api = APIClient()
    api.force_authenticate(manager_a)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(
            f"/api/v1/reviews/{review.pk}/complete/",
            {**RATINGS, "decision": "end", "decision_note": "Not working."},
            format="json",
        )
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 1.5
    # Nothing was sent in the request: the events wait for the commit, then the webhooks
    # consumer turns them into deliveries that a task sends.
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
    assert Event.objects.filter(verb="review.completed", consumed_at__isnull=True).exists()
    assert callbacks  # the dispatch on commit


def test_a_broker_outage_at_enqueue_does_not_break_the_request(
    relationship, manager_a, endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        end(relationship, manager_a)
    assert WebhookDelivery.objects.filter(status="pending").count() == 2


# --- Retries, timeouts, disabling -------------------------------------------------------


def test_the_backoff_doubles_from_the_base_up_to_a_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 6
    assert services.retry_schedule() == [30, 60, 120, 240, 480]
    assert services.retry_delay(20) == services.RETRY_CAP_SECONDS


def test_a_500_is_retried_and_the_retry_succeeds(
    relationship, manager_a, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        relationship_services.relationship_transition(
            relationship=relationship, to_stage=Stage.REVIEW, by=manager_a
        )
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    assert len(receiver.requests) == 2
    # The same event, the same bytes, the same signature on the retry.
    assert receiver.requests[0].body == receiver.requests[1].body
    assert (
        receiver.requests[0].headers["X-Rapport-Signature"]
        == receiver.requests[1].headers["X-Rapport-Signature"]
    )
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_failure_schedules_the_next_attempt_with_backoff(settings, endpoint, receiver):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.statuses = [503]
    delivery = _delivery(endpoint)
    before = timezone.now()
    result = services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    assert result.outcome == "retry"
    assert result.retry_in == 30
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.last_status_code == 503
    assert delivery.last_error == "HTTP 503"
    assert before + timedelta(seconds=29) < delivery.next_attempt_at
    assert delivery.next_attempt_at < timezone.now() + timedelta(seconds=31)
    result = services.delivery_attempt(delivery_id=delivery.pk, attempt=2)
    assert result.outcome == "succeeded"


def test_it_gives_up_after_the_last_attempt(settings, endpoint, receiver):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500, 500, 500, 500]
    delivery = _delivery(endpoint)
    tasks.deliver.delay(delivery.pk, 1)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_a_slow_receiver_times_out_quickly_and_the_failure_is_recorded(
    settings, endpoint, receiver
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 2.0
    delivery = _delivery(endpoint)
    started = time.monotonic()
    result = services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    assert time.monotonic() - started < 1.5
    assert result.outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error == "timed out"
    assert delivery.last_status_code is None


def test_an_unreachable_endpoint_is_a_recorded_failure(admin_user):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = services.endpoint_create(
        by=admin_user, url=f"http://127.0.0.1:{port}/", event_types=EventType.values
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"


def test_repeated_failures_switch_the_endpoint_off_and_tell_the_admins(
    settings, endpoint, receiver, admin_user
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 5
    other_admin = UserFactory(username="admin2", role="admin")
    UserFactory(username="plain", role="manager")
    receiver.statuses = [500] * 10
    first, second = _delivery(endpoint), _delivery(endpoint)
    tasks.deliver.delay(first.pk, 1)  # 3 failed attempts
    tasks.deliver.delay(second.pk, 1)  # 2 more: the 5th switches it off
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None
    assert endpoint.consecutive_failures == 5
    second.refresh_from_db()
    assert second.status == "failed"
    assert second.attempts == 2
    assert len(receiver.requests) == 5
    notified = Notification.objects.filter(kind="webhook_disabled")
    assert set(notified.values_list("recipient__username", flat=True)) == {
        admin_user.username,
        other_admin.username,
    }
    assert endpoint.url in notified.first().title
    # Switched off: new events are no longer queued for it.
    assert services.event_publish(event_type="relationship.created", data={}) == 0


def test_switching_it_back_on_clears_the_failures(endpoint, admin_user):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, consecutive_failures=20, disabled_at=timezone.now()
    )
    endpoint.refresh_from_db()
    endpoint = services.endpoint_update(endpoint=endpoint, by=admin_user, active=True)
    assert endpoint.consecutive_failures == 0
    assert endpoint.disabled_at is None


# --- Safe to run twice --------------------------------------------------------------------


def test_a_task_delivered_twice_posts_once(endpoint, receiver):
    delivery = _delivery(endpoint)
    assert tasks.deliver.delay(delivery.pk, 1).get() == "succeeded"
    assert tasks.deliver.delay(delivery.pk, 1).get() == "skipped"
    assert len(receiver.requests) == 1


def test_publishing_the_same_event_twice_queues_it_once(endpoint):
    event_id = uuid.uuid4()
    first = services.event_publish(event_type="relationship.created", data={}, event_id=event_id)
    again = services.event_publish(event_type="relationship.created", data={}, event_id=event_id)
    assert (first, again) == (1, 0)


def test_redeliver_sends_the_same_event_again(
    endpoint, receiver, admin_user, django_capture_on_commit_callbacks
):
    delivery = _delivery(endpoint)
    tasks.deliver.delay(delivery.pk, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(delivery=delivery, by=admin_user)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempts == 1


def test_the_sweep_resends_deliveries_whose_task_was_lost(endpoint, receiver):
    delivery = _delivery(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    fresh = _delivery(endpoint)  # queued a moment ago: its task is still on its way
    assert tasks.retry_stalled.delay().get() == 1
    delivery.refresh_from_db()
    fresh.refresh_from_db()
    assert delivery.status == "succeeded"
    assert fresh.status == "pending"


# --- Endpoint rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "event_types", "field"),
    [
        ("ftp://example.org/hook", ["relationship.created"], "url"),
        ("file:///etc/passwd", ["relationship.created"], "url"),
        ("https://example.org/hook", ["relationship.deleted"], "event_types"),
        ("https://example.org/hook", [], "event_types"),
    ],
)
def test_endpoints_need_a_web_url_and_known_events(admin_user, url, event_types, field):
    from core.errors import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        services.endpoint_create(by=admin_user, url=url, event_types=event_types)
    assert refused.value.field == field
    assert not WebhookEndpoint.objects.exists()


def test_only_admins_manage_endpoints(manager_a):
    from core.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        services.endpoint_create(
            by=manager_a, url="https://example.org/", event_types=EventType.values
        )


def test_each_endpoint_gets_its_own_secret_and_rotation_replaces_it(endpoint, admin_user):
    other = services.endpoint_create(
        by=admin_user, url="https://example.org/", event_types=EventType.values
    )
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret != other.secret
    rotated = services.endpoint_rotate_secret(endpoint=endpoint, by=admin_user)
    assert rotated.secret != endpoint.secret


def _delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="relationship.created",
        payload={"id": "x", "type": "relationship.created", "data": {"n": 1}},
        next_attempt_at=timezone.now(),
    )

"""The webhooks pages: admins only, the secret shown once, the delivery log."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from webhooks import services
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["manager_a", "contributor_a", "executive"])
@pytest.mark.parametrize(
    ("name", "method", "needs_pk"),
    [
        ("webhooks:index", "get", False),
        ("webhooks:create", "get", False),
        ("webhooks:detail", "get", True),
        ("webhooks:edit", "post", True),
        ("webhooks:rotate_secret", "post", True),
        ("webhooks:delete", "post", True),
    ],
)
def test_only_admins_see_the_webhook_pages(
    request, client, endpoint, persona, name, method, needs_pk
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[endpoint.pk] if needs_pk else [])
    assert getattr(client, method)(url).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.active


def test_admins_list_endpoints_with_their_status(client, admin_user, endpoint):
    WebhookEndpoint.objects.create(
        url="https://down.example.org/",
        secret="whsec_x",
        event_types=["review.completed"],
        active=False,
        disabled_at=timezone.now(),
        consecutive_failures=20,
    )
    client.force_login(admin_user)
    html = client.get(reverse("webhooks:index")).content.decode()
    assert endpoint.url in html
    assert "Switched off after failures" in html
    assert "20 failures in a row" in html
    assert endpoint.secret not in html  # only a hint


def test_creating_an_endpoint_shows_its_secret_once(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("webhooks:create"),
        {
            "url": "https://crm.example.org/hooks",
            "description": "Finance CRM",
            "event_types": ["relationship.created", "relationship.ended"],
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["relationship.created", "relationship.ended"]
    assert endpoint.created_by == admin_user
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get(endpoint.get_absolute_url()).content.decode()


def test_the_form_refuses_bad_urls_and_unknown_events(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("webhooks:create"), {"url": "ftp://example.org/", "event_types": ["nope"]}
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_editing_and_rotating_the_secret(client, admin_user, endpoint):
    client.force_login(admin_user)
    old = endpoint.secret
    response = client.post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"url": endpoint.url, "event_types": ["review.overdue"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["review.overdue"]
    assert not endpoint.active  # the unchecked box switched it off
    response = client.post(reverse("webhooks:rotate_secret", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()


def test_the_delivery_log_shows_the_latest_hundred(
    client, admin_user, endpoint, django_assert_max_num_queries
):
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_type=EventType.REVIEW_COMPLETED,
            payload={},
            status="failed",
            attempts=6,
            last_status_code=502,
            last_error="HTTP 502",
        )
        for _ in range(120)
    )
    client.force_login(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get(endpoint.get_absolute_url())
    html = response.content.decode()
    assert html.count('<tr id="delivery-') == 100
    assert "HTTP 502" in html
    partial = client.get(endpoint.get_absolute_url(), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="delivery-log"')
    assert "HX-Request" in partial["Vary"]


def test_send_again_from_the_log(
    client, admin_user, endpoint, receiver, django_capture_on_commit_callbacks
):
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="review.completed",
        payload={"id": "1"},
        status="failed",
        attempts=6,
    )
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("webhooks:redeliver", args=[delivery.pk]), headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    assert f'id="delivery-{delivery.pk}"' in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(receiver.requests) == 1


def test_a_switched_off_endpoint_is_not_sent_to_again(client, admin_user, endpoint):
    services.endpoint_update(endpoint=endpoint, by=admin_user, active=False)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="review.completed", payload={}, status="failed"
    )
    client.force_login(admin_user)
    response = client.post(reverse("webhooks:redeliver", args=[delivery.pk]), follow=True)
    assert "Switch the endpoint back on" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_deleting_an_endpoint_removes_its_log(client, admin_user, endpoint):
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="review.completed", payload={})
    client.force_login(admin_user)
    assert client.post(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_the_admin_lists_endpoints_and_deliveries(client, endpoint):
    from tests.factories import UserFactory

    superuser = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="review.completed", payload={})
    client.force_login(superuser)
    assert client.get(reverse("admin:webhooks_webhookendpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 200
    change = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()

"""Webhooks only go to public addresses: refused at registration with a reason, and again at
every delivery after DNS, connecting only to the address that was checked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from core.errors import RuleViolation
from webhooks import services, tasks
from webhooks.addresses import allowed_internal
from webhooks.checks import check_allowed_internal_hosts
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC_ONLY = "webhooks may only be sent to public addresses."

# (URL, what the field error says about it)
INTERNAL = [
    ("http://127.0.0.1/hook", "points back at the Rapport server itself (loopback)"),
    ("http://localhost:8000/hook", "points back at the Rapport server itself (loopback)"),
    ("http://api.localhost/hook", "points back at the Rapport server itself (loopback)"),
    ("http://[::1]/hook", "points back at the Rapport server itself (loopback)"),
    ("http://[::ffff:127.0.0.1]/hook", "points back at the Rapport server itself (loopback)"),
    ("http://0.0.0.0/hook", "does not name a single host"),
    ("http://[::]/hook", "does not name a single host"),
    ("http://10.0.0.7/hook", "is on a private network"),
    ("http://172.16.5.4/hook", "is on a private network"),
    ("http://192.168.1.20/hook", "is on a private network"),
    ("http://100.64.0.1/hook", "is on a private network"),
    ("http://[fd00::1]/hook", "is on a private network"),
    ("http://[::ffff:192.168.1.20]/hook", "is on a private network"),
    ("http://169.254.169.254/latest/meta-data/", "is link-local"),
    ("http://[fe80::1]/hook", "is link-local"),
    ("http://224.0.0.1/hook", "is a multicast address"),
    ("http://[ff02::1]/hook", "is a multicast address"),
    ("http://240.0.0.1/hook", "is reserved"),
    # Spellings of 127.0.0.1 the resolver behind the connection would accept.
    ("http://2130706433/hook", "points back at the Rapport server itself (loopback)"),
    ("http://0x7f.1/hook", "points back at the Rapport server itself (loopback)"),
    ("http://0x7f000001/hook", "points back at the Rapport server itself (loopback)"),
    ("http://0177.0.0.1/hook", "points back at the Rapport server itself (loopback)"),
    ("http://127.1/hook", "points back at the Rapport server itself (loopback)"),
]


@pytest.fixture
def public_only(settings):
    """No allow-list: the conftest allows 127.0.0.1 for the local receiver."""
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = []


def _delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="relationship.created",
        payload={"id": "x", "type": "relationship.created", "data": {}},
        next_attempt_at=timezone.now(),
    )


# --- At registration ----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "why"), INTERNAL)
def test_it_refuses_an_internal_endpoint_at_registration_saying_why(
    public_only, client, admin_user, url, why
):
    client.force_login(admin_user)
    response = client.post(
        reverse("webhooks:create"), {"url": url, "event_types": ["relationship.created"]}
    )
    assert response.status_code == 400
    [error] = [e for e in response.context["form"].errors["url"] if PUBLIC_ONLY in e]
    assert why in error
    assert PUBLIC_ONLY in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("url", "why"), INTERNAL)
def test_the_service_refuses_an_internal_endpoint_whoever_calls_it(
    public_only, admin_user, url, why
):
    with pytest.raises(RuleViolation) as refused:
        services.endpoint_create(by=admin_user, url=url, event_types=EventType.values)
    assert refused.value.field == "url"
    assert why in refused.value.message
    endpoint = services.endpoint_create(
        by=admin_user, url="https://hooks.example.org/rapport", event_types=EventType.values
    )
    with pytest.raises(RuleViolation) as refused:
        services.endpoint_update(endpoint=endpoint, by=admin_user, url=url)
    assert refused.value.field == "url"
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.org/rapport"


def test_editing_an_endpoint_to_an_internal_address_is_refused_on_the_page(
    public_only, client, admin_user
):
    endpoint = services.endpoint_create(
        by=admin_user, url="https://hooks.example.org/rapport", event_types=EventType.values
    )
    client.force_login(admin_user)
    response = client.post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"url": "http://192.168.1.20/hook", "event_types": ["relationship.created"]},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["url"] == [
        "This address is on a private network; webhooks may only be sent to public addresses."
    ]
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.org/rapport"


def test_the_admin_refuses_an_internal_address_when_editing(public_only, client, admin_user):
    from tests.factories import UserFactory

    endpoint = services.endpoint_create(
        by=admin_user, url="https://hooks.example.org/rapport", event_types=EventType.values
    )
    superuser = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
        {
            "url": "http://169.254.169.254/latest/meta-data/",
            "description": "",
            "event_types": '["relationship.created"]',
            "active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "is link-local" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.org/rapport"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/rapport",
        "https://93.184.216.34/hook",
        "http://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
    ],
)
def test_a_public_endpoint_is_registered(public_only, admin_user, url):
    endpoint = services.endpoint_create(by=admin_user, url=url, event_types=EventType.values)
    assert endpoint.url == url


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        (["localhost"], "http://localhost:8000/hook"),
        (["LOCALHOST."], "http://localhost:8000/hook"),
        (["127.0.0.1"], "http://127.0.0.1:8000/hook"),
        (["127.0.0.1"], "http://[::ffff:127.0.0.1]:8000/hook"),
        (["10.20.0.0/16"], "http://10.20.3.4/hook"),
        (["[::1]"], "http://[::1]/hook"),
    ],
)
def test_an_allow_listed_internal_host_may_be_registered(settings, admin_user, allowed, url):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = allowed
    endpoint = services.endpoint_create(by=admin_user, url=url, event_types=EventType.values)
    assert endpoint.url == url


def test_the_allow_list_allows_only_what_it_lists(settings, admin_user):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = ["10.20.0.0/16", "hooks.corp.example"]
    with pytest.raises(RuleViolation):
        services.endpoint_create(
            by=admin_user, url="http://10.30.0.1/hook", event_types=EventType.values
        )


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "*.corp.example", "http://hooks.example/"])
def test_a_malformed_allow_list_entry_is_a_configuration_error(settings, entry):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = [entry]
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_ALLOWED_INTERNAL_HOSTS"):
        allowed_internal()
    [error] = check_allowed_internal_hosts()
    assert error.id == "webhooks.E001"
    assert entry in error.msg


# --- At delivery, after DNS ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private network"),
        ("169.254.169.254", "link-local"),
    ],
)
def test_it_refuses_to_deliver_when_the_name_resolves_to_an_internal_address(
    public_only, admin_user, receiver, dns, address, reason
):
    dns.answer("hooks.example.org", address)
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"http://hooks.example.org:{receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    assert tasks.deliver.delay(delivery.pk, 1).get() == "failed"
    # The local receiver listens on 127.0.0.1: nothing reached it.
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_error == f"refused: address not allowed ({reason})"
    assert delivery.last_status_code is None


def test_one_internal_address_among_public_ones_refuses_the_delivery(public_only, admin_user, dns):
    dns.answer("hooks.example.org", "93.184.216.34", "10.1.2.3")
    endpoint = services.endpoint_create(
        by=admin_user, url="https://hooks.example.org/rapport", event_types=EventType.values
    )
    delivery = _delivery(endpoint)
    services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    assert delivery.last_error == "refused: address not allowed (private network)"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "2130706433",
     "0x7f.1", "0177.0.0.1", "127.1"],
)  # fmt: skip
def test_an_endpoint_saved_before_the_policy_is_refused_at_delivery(
    public_only, receiver, host, caplog
):
    # Rows from before the policy (or written around the service) never passed the check.
    endpoint = WebhookEndpoint.objects.create(
        url=f"http://{host}:{receiver.port}/hooks/rapport",
        secret="whsec_old",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    with caplog.at_level("WARNING", logger="webhooks.services"):
        tasks.deliver.delay(delivery.pk, 1)
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("refused: address not allowed (")
    assert any(f"endpoint {endpoint.pk}" in r.getMessage() for r in caplog.records)


def test_a_refused_delivery_fails_at_once_and_repeated_refusals_switch_the_endpoint_off(
    public_only, settings, admin_user, dns
):
    settings.WEBHOOK_MAX_ATTEMPTS = 6
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    dns.answer("hooks.example.org", "10.1.2.3")
    endpoint = services.endpoint_create(
        by=admin_user, url="https://hooks.example.org/rapport", event_types=EventType.values
    )
    first, second = _delivery(endpoint), _delivery(endpoint)
    # Eager tasks run their retries inline: a retried refusal would show as more attempts.
    assert tasks.deliver.delay(first.pk, 1).get() == "failed"
    first.refresh_from_db()
    assert first.attempts == 1
    assert first.next_attempt_at is None
    tasks.deliver.delay(second.pk, 1)
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.consecutive_failures == 2


def test_dns_rebinding_cannot_switch_the_checked_address(settings, admin_user, receiver, dns):
    # The first answer passes the check (allowed); a second lookup would get the receiver's
    # address, which is not allowed. Connecting to the checked address finds nobody there.
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = ["127.0.0.2"]
    dns.answer("rebind.example.org", "127.0.0.2")
    dns.answer("rebind.example.org", "127.0.0.1")
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"http://rebind.example.org:{receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    assert receiver.requests == []
    assert dns.lookups == ["rebind.example.org"]
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
    admin_user, receiver, dns
):
    dns.answer("hooks.example.org", "127.0.0.1")  # allowed by the conftest
    dns.answer("hooks.example.org", "192.0.2.1")  # what a second lookup would get
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"http://hooks.example.org:{receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "succeeded"
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.example.org:{receiver.port}"
    assert dns.lookups == ["hooks.example.org"]


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        (["localhost"], "localhost"),
        (["127.0.0.0/8"], "127.0.0.1"),
        (["hooks.corp.example"], "hooks.corp.example"),
    ],
)
def test_an_allow_listed_host_is_delivered_to(settings, admin_user, receiver, dns, allowed, host):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = allowed
    dns.answer("hooks.corp.example", "127.0.0.1")
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"http://{host}:{receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "succeeded"
    assert len(receiver.requests) == 1
    # Off the list again: the same endpoint is refused at the next delivery.
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = []
    again = _delivery(endpoint)
    services.delivery_attempt(delivery_id=again.pk, attempt=1)
    again.refresh_from_db()
    assert again.last_error == "refused: address not allowed (loopback)"
    assert len(receiver.requests) == 1


def test_https_to_the_pinned_address_keeps_the_name_for_sni_and_the_certificate(
    settings, admin_user, tls_receiver, dns
):
    dns.answer("hooks.test", "127.0.0.1")
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"https://hooks.test:{tls_receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "succeeded"
    [request] = tls_receiver.requests
    assert request.headers["Host"] == f"hooks.test:{tls_receiver.port}"


def test_a_certificate_for_another_name_is_a_tls_error(admin_user, tls_receiver, dns):
    dns.answer("other.test", "127.0.0.1")  # same address, but the certificate is hooks.test's
    endpoint = services.endpoint_create(
        by=admin_user,
        url=f"https://other.test:{tls_receiver.port}/hooks/rapport",
        event_types=EventType.values,
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "retry"
    assert tls_receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.last_error == "TLS error"


def test_redirects_are_not_followed(endpoint, receiver):
    receiver.statuses = [302]
    receiver.location = receiver.url + "/followed"
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "retry"
    assert [r.path for r in receiver.requests] == ["/hooks/rapport"]
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302
    assert delivery.last_error == "HTTP 302"


def test_an_unknown_host_is_retried_as_could_not_resolve_host(admin_user, dns):
    dns.answer("gone.example.org")  # NXDOMAIN
    endpoint = services.endpoint_create(
        by=admin_user, url="https://gone.example.org/hook", event_types=EventType.values
    )
    delivery = _delivery(endpoint)
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=1).outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error == "could not resolve host"

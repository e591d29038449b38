"""The delivery log says what happened in product words, never exception text, errno or
addresses (which would make it a port scanner's report); operators find those in the server
log."""

from __future__ import annotations

import errno
import http.client
import importlib
import re
import socket
import ssl

import pytest
from django.apps import apps
from django.utils import timezone

from webhooks import services
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _delivery(endpoint: WebhookEndpoint, **fields) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="relationship.created",
        payload={"id": "x", "type": "relationship.created", "data": {}},
        next_attempt_at=timezone.now(),
        **fields,
    )


def _log_row(client, delivery: WebhookDelivery) -> str:
    """The delivery's row on the endpoint page, as an admin sees it."""
    html = client.get(delivery.endpoint.get_absolute_url()).content.decode()
    match = re.search(rf'<tr id="delivery-{delivery.pk}">.*?</tr>', html, re.S)
    assert match, html
    return match.group(0)


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_log_shows_connection_refused_and_the_server_log_the_exception(
    client, admin_user, caplog
):
    endpoint = services.endpoint_create(
        by=admin_user, url=f"http://127.0.0.1:{_unused_port()}/", event_types=EventType.values
    )
    delivery = _delivery(endpoint)
    with caplog.at_level("INFO", logger="webhooks.services"):
        services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"
    client.force_login(admin_user)
    row = _log_row(client, delivery)
    assert "connection refused" in row
    for leak in ("Errno", "ConnectionRefusedError", "127.0.0.1"):
        assert leak not in row
    # The errno on its own, not the digits of a timestamp (23:33:14.111114).
    assert not re.search(r"(?<![\d.])111(?!\d)", row)
    [record] = [r for r in caplog.records if f"delivery {delivery.pk}" in r.getMessage()]
    assert "ConnectionRefusedError" in record.getMessage()
    assert "127.0.0.1" in record.getMessage()


def test_the_log_shows_timed_out_for_a_slow_receiver(
    settings, client, admin_user, endpoint, receiver
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 2.0
    delivery = _delivery(endpoint)
    services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    assert delivery.last_error == "timed out"
    client.force_login(admin_user)
    row = _log_row(client, delivery)
    assert "timed out" in row
    assert "Timeout" not in row


def test_the_log_shows_an_http_status_once(client, admin_user, endpoint, receiver):
    receiver.statuses = [502]
    delivery = _delivery(endpoint)
    services.delivery_attempt(delivery_id=delivery.pk, attempt=1)
    client.force_login(admin_user)
    assert _log_row(client, delivery).count("HTTP 502") == 1


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        (TimeoutError("timed out"), "timed out"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS error"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS error"),
        (
            http.client.RemoteDisconnected("Remote end closed"),
            "connection closed without an answer",
        ),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection reset"),
        (http.client.BadStatusLine("SSH-2.0-OpenSSH_9.2"), "invalid HTTP answer"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "host unreachable"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "host unreachable"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "connection failed"),
    ],
)
def test_each_network_failure_is_named_in_product_words(error, words):
    assert services.failure_words(error) == words


def test_old_log_messages_are_rewritten_into_product_words(endpoint):
    migration = importlib.import_module("webhooks.migrations.0002_address_policy_and_log_words")
    old_to_new = {
        "ConnectionRefusedError: [Errno 111] Connection refused": "connection refused",
        "Timed out": "timed out",
        "TLS error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed": "TLS error",
        "gaierror: [Errno -2] Name or service not known": "could not resolve host",
        "RemoteDisconnected: Remote end closed connection without response": (
            "connection closed without an answer"
        ),
        "ConnectionResetError: [Errno 104] Connection reset by peer": "connection reset",
        "OSError: [Errno 113] No route to host": "host unreachable",
        "BadStatusLine: SSH-2.0-OpenSSH_9.2": "invalid HTTP answer",
        "OSError: [Errno 99] Cannot assign requested address": "connection failed",
        "Bad URL: Port could not be cast to integer value as 'x'": "invalid URL",
        "HTTP 302": "HTTP 302",
        "Gave up after 6 attempts.": "Gave up after 6 attempts.",
        "Not sent: the endpoint is switched off.": "Not sent: the endpoint is switched off.",
        "": "",
    }
    rows = {old: _delivery(endpoint, last_error=old, status="failed") for old in old_to_new}
    migration.rewrite_log_messages(apps, None)
    for old, new in old_to_new.items():
        rows[old].refresh_from_db()
        assert rows[old].last_error == new, old

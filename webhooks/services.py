"""Every write to webhook endpoints and deliveries, and the delivery itself.

Publishing (``event_publish``) runs inside the transaction that caused the event: it adds
one WebhookDelivery per active endpoint subscribed to the event type and enqueues the
delivery task with ``transaction.on_commit``, so a rolled-back change sends nothing and a
slow endpoint never slows the request.

Delivery (``delivery_attempt``, run by webhooks.tasks.deliver):
- POST the JSON body ``{"id", "type", "created_at", "data"}`` with the headers
  ``X-Rapport-Event``, ``X-Rapport-Delivery`` (the event id: receivers dedupe on it) and
  ``X-Rapport-Signature: sha256=<hex HMAC-SHA256 of the raw body with the endpoint secret>``;
- only to public addresses (webhooks.addresses: the host is resolved once, every address
  checked, and the connection pinned to the checked ones); a refused address fails the
  delivery at once, without retries;
- short timeouts (WEBHOOK_CONNECT_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS for each read);
  redirects are not followed; a 2xx answer is success, anything else a failure;
- the delivery log records outcomes in product words ("connection refused", "timed out",
  "HTTP 302"); the exception itself, with errno and address, goes to the server log only;
- a failure is retried after ``retry_delay(attempts)`` seconds (exponential backoff) up to
  WEBHOOK_MAX_ATTEMPTS attempts;
- WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row on one endpoint switch it off and
  notify every admin.

At least once: a receiver may see an event twice (a worker lost mid-request is retried).
The attempt number travels with the task, and each run first claims that attempt with a
compare-and-set on ``attempts``, so a task delivered twice by the broker posts once.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, User
from core.errors import PermissionRefused, RuleViolation
from webhooks import addresses
from webhooks.addresses import IPAddress
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Rapport-Signature"
EVENT_HEADER = "X-Rapport-Event"
DELIVERY_HEADER = "X-Rapport-Delivery"
USER_AGENT = "Rapport-Webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
# Stable namespace for event ids derived from their subject (e.g. one "review overdue" per
# review and due date, however many reminder runs report it).
EVENT_NAMESPACE = uuid.UUID("6f1d3c5e-6a8f-4f43-9a43-8f7b1f0e2c11")


# --- Settings (all optional) ---------------------------------------------------------


def connect_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3))


def read_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 5))


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def retry_base_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))


def disable_after() -> int:
    return int(getattr(settings, "WEBHOOK_DISABLE_AFTER_FAILURES", 20))


RETRY_CAP_SECONDS = 3600


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: base × 2^(attempts−1),
    at most an hour. With the defaults: 30 s, 1 min, 2 min, 4 min, 8 min."""
    return min(retry_base_seconds() * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS)


def retry_schedule() -> list[float]:
    """The delays before each retry, for the documentation and the UI."""
    return [retry_delay(n) for n in range(1, max_attempts())]


# --- Endpoints ------------------------------------------------------------------------


def _require_admin(by: User) -> None:
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins manage webhooks.")


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


ENDPOINT_FIELDS = ("url", "description", "event_types", "active", "include_confidential")


def _validate(endpoint: WebhookEndpoint) -> None:
    try:
        endpoint.full_clean(exclude=["created_by"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            raise RuleViolation(
                "invalid", " ".join(messages), None if field == "__all__" else field
            ) from None
        raise


@transaction.atomic
def endpoint_create(
    *,
    by: User,
    url: str,
    event_types: list[str],
    description: str = "",
    active: bool = True,
    include_confidential: bool = False,
) -> WebhookEndpoint:
    """Register an endpoint; its generated secret is on the returned object (show it once)."""
    _require_admin(by)
    endpoint = WebhookEndpoint(
        url=url.strip(),
        description=description.strip(),
        event_types=list(event_types),
        active=active,
        include_confidential=include_confidential,
        secret=generate_secret(),
        created_by=by,
    )
    _validate(endpoint)
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, by: User, **fields) -> WebhookEndpoint:
    """Edit; switching an endpoint back on clears its failure count and disabled date."""
    _require_admin(by)
    unknown = set(fields) - set(ENDPOINT_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    was_active = locked.active
    for name, value in fields.items():
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    if locked.active and not was_active:
        locked.consecutive_failures = 0
        locked.disabled_at = None
    _validate(locked)
    locked.save()
    return locked


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, by: User) -> WebhookEndpoint:
    """A new secret, effective for every attempt from now on (pending retries included)."""
    _require_admin(by)
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    locked.secret = generate_secret()
    locked.save(update_fields=["secret", "updated_at"])
    return locked


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, by: User) -> None:
    _require_admin(by)
    endpoint.delete()


# --- Events ---------------------------------------------------------------------------


def event_id_for(*parts) -> uuid.UUID:
    """A deterministic event id for an event that may be reported more than once."""
    return uuid.uuid5(EVENT_NAMESPACE, ":".join(str(p) for p in parts))


@dataclass(frozen=True)
class Outgoing:
    """One event to deliver: its payload is built once for every endpoint."""

    event_type: str
    event_id: uuid.UUID
    created_at: datetime
    data: dict
    confidential: bool = False


def endpoints_active() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=True).order_by("pk"))


def deliveries_create(
    outgoing: list[Outgoing], endpoints: list[WebhookEndpoint] | None = None
) -> int:
    """A delivery per event and subscribed endpoint (confidential events only to endpoints
    that take them), sent after commit; returns how many were new. Endpoints are read once
    per batch (or given, already read); a repeated event id adds nothing (unique endpoint +
    event id)."""
    if not outgoing:
        return 0
    unknown = {item.event_type for item in outgoing} - set(EventType.values)
    if unknown:
        raise ValueError(f"Unknown webhook event types {sorted(unknown)}")
    if endpoints is None:
        endpoints = endpoints_active()
    now = timezone.now()
    rows = []
    for item in outgoing:
        receivers = [
            endpoint
            for endpoint in endpoints
            if endpoint.subscribes_to(item.event_type)
            and (endpoint.include_confidential or not item.confidential)
        ]
        if not receivers:
            continue
        payload = {
            "id": str(item.event_id),
            "type": item.event_type,
            "created_at": item.created_at.isoformat(),
            "data": item.data,
        }
        rows.extend(
            WebhookDelivery(
                endpoint=endpoint,
                event_id=item.event_id,
                event_type=item.event_type,
                payload=payload,
                next_attempt_at=now,
            )
            for endpoint in receivers
        )
    if not rows:
        return 0
    # Race and repeats: the same event handed over twice keeps one delivery per endpoint.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    new_ids = list(
        WebhookDelivery.objects.filter(
            event_id__in={row.event_id for row in rows}, attempts=0, created_at__gte=now
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for delivery_id in new_ids:
        _enqueue_on_commit(delivery_id, 1)
    return len(new_ids)


def event_publish(
    *,
    event_type: str,
    data: dict,
    confidential: bool = False,
    event_id: uuid.UUID | None = None,
) -> int:
    """Deliver one event that is not in the event log (a test ping); returns how many new
    deliveries it made."""
    return deliveries_create(
        [
            Outgoing(
                event_type=event_type,
                event_id=event_id or uuid.uuid4(),
                created_at=timezone.now(),
                data=data,
                confidential=confidential,
            )
        ]
    )


def _enqueue_on_commit(delivery_id: int, attempt: int) -> None:
    from webhooks.tasks import deliver, enqueue

    transaction.on_commit(lambda: enqueue(deliver, delivery_id, attempt))


# --- Delivering -----------------------------------------------------------------------


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact, keys sorted, so a redelivery is identical."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """How a receiver checks a request (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), header or "")


@dataclass(frozen=True)
class Answer:
    """What one POST came to: the receiver's status code, or what went wrong."""

    status_code: int | None = None
    outcome: str = ""  # product words for the delivery log ("timed out"), never exception text
    detail: str = ""  # the full exception, for the server log only
    refused: bool = False  # the address policy refused the target: retrying will not help


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to addresses already resolved and checked, never looking the name up again;
    the Host header still names the URL's host."""

    def __init__(self, host: str, port: int, *, targets: list[IPAddress], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.targets = targets

    def connect(self) -> None:
        self.sock = _connect_any(self.targets, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: SNI and certificate checks are for the URL's host name, not for
    the address we connect to."""

    def __init__(self, host: str, port: int, *, targets: list[IPAddress], timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.targets = targets

    def connect(self) -> None:
        sock = _connect_any(self.targets, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _connect_any(targets: list[IPAddress], port: int, timeout: float) -> socket.socket:
    """socket.create_connection to these addresses only, in order: no second DNS lookup,
    which could answer differently from the one we checked (DNS rebinding)."""
    error: OSError = OSError("no address to connect to")
    for address in targets:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect((str(address), port))
        except OSError as failed:
            sock.close()
            error = failed
        else:
            return sock
    raise error


def failure_words(error: BaseException) -> str:
    """What went wrong, in the delivery log's words: no errno, address or exception text,
    which would make the log a port scanner's report."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return "TLS error"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.RemoteDisconnected):
        return "connection closed without an answer"
    if isinstance(error, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return "connection reset"
    if isinstance(error, http.client.HTTPException):
        return "invalid HTTP answer"
    if isinstance(error, OSError) and error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "host unreachable"
    return "connection failed"


def http_post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to a public address (webhooks.addresses) with a short connect timeout and a
    per-read timeout; no redirects followed. Never raises for network trouble."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:  # a malformed port
        return Answer(outcome="invalid URL", detail=str(error))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Answer(
            outcome="invalid URL", detail=f"scheme {parts.scheme!r}, host {parts.hostname!r}"
        )
    host = parts.hostname
    try:
        targets = addresses.resolve_for_delivery(host, port)
    except addresses.AddressRefused as refused:
        return Answer(
            outcome=refused.outcome,
            detail=f"{host} resolves to {refused.address} ({refused.reason})",
            refused=True,
        )
    except addresses.HostUnresolvable as error:
        return Answer(outcome="could not resolve host", detail=f"{host}: {error}")
    pinned = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(host, port, targets=targets, timeout=connect_timeout())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.connect()
        connection.sock.settimeout(read_timeout())
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return Answer(status_code=response.status)
    except (OSError, http.client.HTTPException) as error:
        where = ", ".join(map(str, targets))
        return Answer(
            outcome=failure_words(error), detail=f"{type(error).__name__}: {error} ({where})"
        )
    finally:
        connection.close()


@dataclass
class Attempt:
    outcome: str  # "succeeded", "retry", "failed", "skipped"
    retry_in: float | None = None


def _claim(delivery_id: int, attempt: int) -> tuple[WebhookDelivery, str, str, bytes] | Attempt:
    """Take attempt number ``attempt`` if nobody has: the compare-and-set on ``attempts``
    makes a task the broker delivered twice (or the sweep and a retry) post only once."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status != WebhookDelivery.Status.PENDING
            or delivery.attempts != attempt - 1
        ):
            return Attempt("skipped")
        endpoint = delivery.endpoint
        now = timezone.now()
        if not endpoint.active or attempt > max_attempts():
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = (
                "Not sent: the endpoint is switched off."
                if not endpoint.active
                else f"Gave up after {attempt - 1} attempt{pluralize(attempt - 1)}."
            )
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return Attempt("failed")
        delivery.attempts = attempt
        delivery.last_attempt_at = now
        # Until the outcome is recorded; a worker lost mid-request is retried by the sweep
        # once this has passed.
        delivery.next_attempt_at = now + timedelta(seconds=connect_timeout() + read_timeout() + 60)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
        return delivery, endpoint.url, endpoint.secret, body_bytes(delivery.payload)


def delivery_attempt(*, delivery_id: int, attempt: int) -> Attempt:
    """Make attempt number ``attempt`` of one delivery and record its outcome."""
    claimed = _claim(delivery_id, attempt)
    if isinstance(claimed, Attempt):
        return claimed
    delivery, url, secret, body = claimed
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: sign(secret, body),
    }
    # Outside any transaction: no row or table lock is held while we wait on the network.
    answer = http_post(url, body, headers)
    status_code, error = answer.status_code, answer.outcome
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    if answer.detail:
        # The full story is for operators; the log row admins see keeps the product words.
        log.log(
            logging.WARNING if answer.refused else logging.INFO,
            "Webhook delivery %s to endpoint %s, attempt %s: %s (%s)",
            delivery.pk,
            delivery.endpoint_id,
            attempt,
            error,
            answer.detail,
        )
    return _record(delivery.pk, attempt, status_code, error, ok, final=answer.refused)


@transaction.atomic
def _record(
    delivery_id: int,
    attempt: int,
    status_code: int | None,
    error: str,
    ok: bool,
    final: bool = False,
) -> Attempt:
    delivery = WebhookDelivery.objects.select_for_update(of=("self",)).get(pk=delivery_id)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != attempt:
        return Attempt("skipped")  # redelivered meanwhile: the new round records its own
    now = timezone.now()
    delivery.last_status_code = status_code
    delivery.last_error = error[:500]
    result = Attempt("succeeded")
    if ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
    else:
        endpoint.consecutive_failures += 1
        if endpoint.active and endpoint.consecutive_failures >= disable_after():
            _disable(endpoint, now)
        # A refused address stays refused until someone changes the URL, the DNS or the
        # allow-list: no retries, the admin sends it again. It still counts towards switching
        # the endpoint off.
        if final or delivery.attempts >= max_attempts() or not endpoint.active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            result = Attempt("failed")
        else:
            delay = retry_delay(delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            result = Attempt("retry", retry_in=delay)
    delivery.save()
    endpoint.save(update_fields=["consecutive_failures", "active", "disabled_at", "updated_at"])
    return result


def _disable(endpoint: WebhookEndpoint, now) -> None:
    """Switch a failing endpoint off and tell every admin (in the same transaction)."""
    from notifications.services import notification_create

    endpoint.active = False
    endpoint.disabled_at = now
    count = endpoint.consecutive_failures
    for admin in User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"):
        notification_create(
            recipient=admin,
            kind="webhook_disabled",
            title=(
                f"Webhook to {endpoint.url} switched off after {count} failed "
                f"attempt{pluralize(count)}"
            ),
            body="Events are no longer sent to it. Check the receiver, then switch it back on.",
            url=_endpoint_path(endpoint.pk),
            key=f"webhook:{endpoint.pk}:disabled",
        )
    log.warning("Webhook endpoint %s disabled after %s failures", endpoint.pk, count)


def _endpoint_path(pk: int) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("webhooks:detail", args=[pk])
    except NoReverseMatch:  # a worker without the UI's URLs mounted
        return f"/webhooks/{pk}/"


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, by: User) -> WebhookDelivery:
    """Send the same event again (same id and body), with a fresh set of attempts."""
    _require_admin(by)
    locked = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if not locked.endpoint.active:
        raise RuleViolation(
            "endpoint_disabled", "Switch the endpoint back on before sending to it again."
        )
    locked.status = WebhookDelivery.Status.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.delivered_at = None
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    _enqueue_on_commit(locked.pk, 1)
    return locked


def deliveries_retry_stalled(grace_seconds: int = 300, limit: int = 500) -> int:
    """Re-enqueue pending deliveries whose task never ran (broker down when enqueued, worker
    lost mid-request). Safe alongside the regular retries: the attempt claim dedupes."""
    from webhooks.tasks import deliver, enqueue

    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    stalled = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", "attempts")[:limit]
    )
    for pk, attempts in stalled:
        enqueue(deliver, pk, attempts + 1)
    return len(stalled)

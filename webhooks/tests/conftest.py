from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import clear_url_caches

from core.context_processors import _available_sections
from tests.factories import RelationshipFactory, RelationshipTypeFactory
from webhooks import services
from webhooks.models import EventType
from webhooks.tests.receiver import start_receiver


@pytest.fixture(autouse=True)
def _webhooks_setup(settings):
    # Until the lead mounts webhooks/ in config/urls.py.
    settings.ROOT_URLCONF = "webhooks.tests.urls"
    settings.SITE_URL = "https://rapport.test"
    # Fast failures: a short read timeout, and retries that the eager task runs at once.
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 0.5
    # The local receiver listens on 127.0.0.1, which the address policy refuses otherwise.
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = ["127.0.0.1"]
    from config.celery import app

    app.conf.task_always_eager = True
    clear_url_caches()
    _available_sections.cache_clear()
    yield
    clear_url_caches()
    _available_sections.cache_clear()


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(admin_user, receiver):
    return services.endpoint_create(by=admin_user, url=receiver.url, event_types=EventType.values)


@pytest.fixture
def relationship(manager_a, team_a):
    rel_type = RelationshipTypeFactory(name="Webhook test type", default_review_cadence_days=90)
    return RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")


class FakeDNS:
    """What made-up names resolve to (socket.getaddrinfo); other names resolve for real."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, name: str, *addresses: str) -> None:
        """Add the next answer for ``name``; the last one repeats. No address: NXDOMAIN."""
        self.answers.setdefault(name, []).append(list(addresses))

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        self.lookups.append(host)
        answers = self.answers[host]
        current = answers.pop(0) if len(answers) > 1 else answers[0]
        if not current:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in current
        ]


_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@dataclass(frozen=True)
class TLSFiles:
    ca: Path  # the test CA, to trust with SSL_CERT_FILE
    cert: Path  # hooks.test's certificate, signed by the CA
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TLSFiles:
    """A test CA and a certificate for hooks.test (made with the openssl command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Rapport test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", "hooks.key", "-out", "hooks.csr", "-subj", "/CN=hooks.test")
    (folder / "hooks.ext").write_text(
        "subjectAltName=DNS:hooks.test\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    run("x509", "-req", "-in", "hooks.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "hooks.pem", "-days", "2", "-extfile", "hooks.ext")  # fmt: skip
    return TLSFiles(folder / "ca.pem", folder / "hooks.pem", folder / "hooks.key")


@pytest.fixture
def tls_receiver(tls_files, monkeypatch):
    """A receiver on 127.0.0.1 over TLS with hooks.test's certificate, trusted by the client."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca))
    receiver, server = start_receiver(tls=context)
    yield receiver
    server.shutdown()
    server.server_close()

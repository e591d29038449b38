"""A local HTTP(S) receiver for the webhook tests: records every request it gets and answers
with the statuses it was told to (optionally after a delay, or redirecting elsewhere)."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    port: int = 0
    statuses: list[int] = field(default_factory=list)  # answered in order; then 200
    delay: float = 0.0
    location: str = ""  # sent with a 3xx answer
    requests: list[Received] = field(default_factory=list)

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is the point of some tests


def start_receiver(tls: ssl.SSLContext | None = None) -> tuple[Receiver, ThreadingHTTPServer]:
    """Listen on 127.0.0.1 (over TLS with ``tls``, a server context)."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.next_status()
            self.send_response(status)
            if receiver.location and 300 <= status < 400:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    scheme = "https" if tls is not None else "http"
    receiver.url = f"{scheme}://127.0.0.1:{receiver.port}/hooks/rapport"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return receiver, server

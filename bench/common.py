"""Shared by the performance checks (bench/run.py, bench/loadtest.py, bench/scaleout.py).

Production-like server settings, the database preparation, a browser-like HTTP client that
signs in through the real login form, and a small process supervisor that starts every
server in its own process group and always stops them (errors, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/rapport_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
PASSWORD = "rapport-demo-2026"


def server_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "DEBUG": "False",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
            "SECURE_SSL_REDIRECT": "False",  # plain HTTP on loopback; the client says https
            # The measuring client stands in for the TLS proxy, so it must be a trusted one.
            "TRUSTED_PROXIES": "127.0.0.1,::1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CONN_MAX_AGE": "600",
            "RAPPORT_BENCH": "True",
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "dummymail://",  # reminders and digests go nowhere
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": os.environ.get("BENCH_WORKERS", "2"),
            "GUNICORN_THREADS": "1",
            # One client measures latency; throttling is for the load test, not here.
            "API_THROTTLE_USER": "100000/min",
            "API_THROTTLE_ANON": "100000/min",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        capture_output=capture,
    )
    return result.stdout if capture else ""


def shell_json(env: dict[str, str], script: str):
    """Run a script with `manage.py shell -c` and return the JSON its last line prints."""
    return json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])


def ensure_database(database_url: str) -> bool:
    """Create the database if it does not exist (never drops one); True if it was created."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return False
        connection.execute(f'CREATE DATABASE "{name}"')
    return True


def prepare(env: dict[str, str], scale: str = "large") -> dict:
    """Migrate, load `seed_demo --scale <scale>` unless its relationships are all there
    (timing the load, which can take long), and collect static files."""
    manage(env, "migrate", "--noinput", "-v0")
    # The expected size comes from the seed itself, so the two never disagree.
    count, expected = shell_json(
        env,
        "import json; from core.demo import SCALES; "
        "from relationships.models import Relationship; "
        f"print(json.dumps([Relationship.objects.count(), SCALES[{scale!r}]['relationships']]))",
    )
    seed_seconds = None
    if count < expected:
        print(f"bench: loading the {scale} dataset (seed_demo --scale {scale}) …", flush=True)
        started = time.perf_counter()
        manage(env, "seed_demo", "--scale", scale)
        seed_seconds = round(time.perf_counter() - started, 1)
        print(f"bench: loaded the {scale} dataset in {seed_seconds} s", flush=True)
    manage(env, "collectstatic", "--noinput", "-v0")
    return {"seed_seconds": seed_seconds}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(host: str, port: int, timeout: float = 60) -> bool:
    """Poll /healthz until it answers 200 (database and broker reachable)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def start_gunicorn(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host, port = env["GUNICORN_BIND"].split(":")
    if wait_healthy(host, int(port)):
        return process
    process.terminate()
    raise SystemExit("bench: gunicorn did not become healthy within 60 s")


class Client:
    """A keep-alive HTTP client that signs in like a browser (CSRF, session cookie)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def _headers(self, extra: dict | None = None) -> dict[str, str]:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            # Behind a TLS proxy in production; secure cookies and CSRF checks stay on.
            "X-Forwarded-Proto": "https",
            "Accept": "text/html,application/json",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def fork(self) -> Client:
        """Another connection of the same signed-in browser (a copy of its cookies), as a
        browser opens several connections to one host."""
        other = Client(self.port)
        other.cookies = dict(self.cookies)
        return other

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        for attempt in range(2):
            try:
                started = time.perf_counter()
                self.connection.request(method, path, body=body, headers=self._headers(headers))
                response = self.connection.getresponse()
                content = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                break
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response, content, elapsed

    def sign_in(self, username: str) -> None:
        _, page, _ = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        origin = f"https://127.0.0.1:{self.port}"
        body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        response, _, _ = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
            },
        )
        if response.status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"bench: could not sign in as {username} ({response.status})")


# --- Process supervision (loadtest, scaleout) ------------------------------------------


class Supervisor:
    """Starts servers in their own process groups (so a Ctrl-C reaches only this script) and
    stops them all on exit: SIGTERM to the leader (graceful), then SIGKILL to the group."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def __enter__(self) -> Supervisor:
        # Ctrl-C (even when started with SIGINT ignored, as background jobs are) and SIGTERM
        # unwind as KeyboardInterrupt, so the finally blocks still run.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def log(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        with open(self.log(name), "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, ProcessLookupError):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=timeout)
        # Whatever is left in its group (gunicorn or celery children) goes now.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def stop_all(self) -> None:
        # Never interrupted half-way by a second Ctrl-C: children would be left behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _name, process in reversed(self.children):
                self.stop(process)
            self.children.clear()
        finally:
            signal.signal(signal.SIGINT, previous)

    def start_gunicorn(self, name: str, env: dict[str, str], timeout: float = 60):
        process = self.start(
            name,
            [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"],
            env,
        )
        host, port = env["GUNICORN_BIND"].split(":")
        if not wait_healthy(host, int(port), timeout):
            raise SystemExit(
                f"bench: {name} did not become healthy within {timeout:.0f} s "
                f"(see {self.log(name)})"
            )
        return process

    def wait_for_log(
        self, name: str, text: str, process: subprocess.Popen, timeout: float = 60
    ) -> None:
        """Wait until `text` appears in the log of `name` (bounded; fails if it exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name).read_text(errors="replace"):
                return
            if process.poll() is not None:
                raise SystemExit(f"bench: {name} exited early (see {self.log(name)})")
            time.sleep(0.3)
        raise SystemExit(f"bench: {name} not ready within {timeout:.0f} s (see {self.log(name)})")

    def start_celery(self, name: str, args: list[str], env: dict[str, str], timeout: float = 60):
        """A Celery worker (or beat) logging to its own file; waits until it is ready."""
        argv = [PYTHON, "-m", "celery", "--app", "config", *args]
        process = self.start(name, argv, env)
        ready = "beat: Starting" if args[0] == "beat" else " ready."
        self.wait_for_log(name, ready, process, timeout)
        return process


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]

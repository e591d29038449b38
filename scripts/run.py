"""`make run`: Rapport with its demo data, Celery worker and beat, for someone trying it.

Migrates and loads the demo data quietly, starts the web server, the worker and beat, waits
until the site answers and the worker has run a task, then prints one block: the address,
the demo sign-ins and where to read the e-mails the app sends. The processes' start-up
banners are held back so that block stays on screen; after it, their log lines follow, each
with the process's name. Ctrl-C (or SIGTERM) stops all three and exits 0.

DEBUG is off unless DEBUG=1 is given, so errors show the product's own pages; RAPPORT_LOCAL
lets it serve this way on this machine over plain HTTP (config/settings.py). PORT chooses the
port (8000). Logs are at WARNING, the web server's request lines aside (LOG_LEVEL changes it).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8000
# How long the web server and the worker may take to start (the first start compiles a lot).
START_SECONDS = 90
STOP_SECONDS = 15
RULE = "─" * 76
# Request lines for static files that were served fine: one page makes a dozen.
STATIC_OK = re.compile(r'"(GET|HEAD) /static/\S* HTTP/[\d.]+" (200|304) ')


class ConfigurationError(Exception):
    pass


def port_from(environ: Mapping[str, str]) -> int:
    """PORT from the environment (8000 when unset), or a ConfigurationError naming it."""
    raw = environ.get("PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigurationError(f"PORT is malformed: {raw!r} is not a port number (1–65535).")
    return int(raw)


def run_environment(environ: Mapping[str, str], port: int) -> dict[str, str]:
    """What every process runs with: the caller's environment, which wins, over `make run`'s
    defaults (DEBUG off, quiet logs, links in e-mails on this port)."""
    env = dict(environ)
    env.setdefault("DEBUG", "False")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["RAPPORT_LOCAL"] = "True"  # plain HTTP on this machine: see config/settings.py
    env["PORT"] = str(port)
    env["PYTHONUNBUFFERED"] = "1"  # log lines as they happen, not when a buffer fills
    return env


def commands(port: int, *, debug: bool, log_level: str) -> dict[str, list[str]]:
    python = sys.executable
    web = [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--skip-checks"]
    if not debug:
        web.append("--noreload")  # reloading on code changes is for developers (DEBUG=1)
    celery = [python, "-m", "celery", "--quiet", "--skip-checks", "--app", "config"]
    return {
        "web": web,
        "worker": [*celery, "worker", "--loglevel", log_level, "--concurrency", "2"],
        "beat": [
            *celery, "beat", "--loglevel", log_level,
            "--schedule", str(ROOT / "var" / "celerybeat-schedule"),
        ],
    }  # fmt: skip


def ready_block(
    *,
    url: str,
    users: Sequence[tuple[str, str, str]],
    password: str,
    mail_url: str | None,
    debug: bool,
    worker_ready: bool = True,
) -> str:
    """The lines printed once everything answers. ``users``: (username, role, teams)."""
    width = max((len(username) for username, _, _ in users), default=0) + 2
    role_width = max((len(role) for _, role, _ in users), default=0) + 2
    lines = [RULE, f"  Rapport is ready at {url} — sign in as:", ""]
    lines += [
        f"    {username:<{width}}{role:<{role_width}}{teams}".rstrip()
        for username, role, teams in users
    ]
    lines += ["", f"  Password for all of them: {password}", ""]
    if mail_url:
        lines += [
            "  E-mails the app sends (survey links, digests, password resets) are kept, not",
            '  sent: signed in as admin, open "Sent e-mails" in the menu under your name',
            f"  ({mail_url}).",
            "",
        ]
    if not worker_ready:
        lines += [
            "  The Celery worker has not answered yet: e-mails, reminders and webhooks wait",
            "  until it does (its messages are above).",
            "",
        ]
    if debug:
        lines += ["  DEBUG is on: errors show Django's debug page, not Rapport's own.", ""]
    lines += ["  Ctrl-C stops the web server, the Celery worker and beat.", RULE]
    return "\n".join(lines)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Output:
    """The children's lines. Held back while starting (banners would push the ready block
    off the screen; shown only if a process fails to start), printed with the process's
    name once ready, dropped while stopping (shutdown chatter is not news)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = "starting"
        self.held: dict[str, deque[str]] = {}

    def line(self, name: str, text: str) -> None:
        with self.lock:
            if self.state == "starting":
                self.held.setdefault(name, deque(maxlen=200)).append(text)
            elif self.state == "running" and not (name == "web" and STATIC_OK.search(text)):
                print(f"{name:<6} | {text}", flush=True)

    def say(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)

    def show_held(self, name: str) -> None:
        with self.lock:
            for text in self.held.get(name, ()):
                print(f"{name:<6} | {text}", flush=True)

    def running(self, block: str) -> None:
        with self.lock:
            print(block, flush=True)
            self.state = "running"

    def stopping(self) -> None:
        with self.lock:
            self.state = "stopping"


class Child:
    """One process in its own session: Ctrl-C reaches only this launcher, which then stops
    the children in order instead of each one printing its own interrupted shutdown."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], out: Output) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self.pump = threading.Thread(target=self._pump, args=(out,), daemon=True)
        self.pump.start()

    def _pump(self, out: Output) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            out.line(self.name, text.rstrip("\n"))

    @property
    def exited(self) -> int | None:
        return self.process.poll()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def finish(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Anything it left behind in its session (the reloader's server, a pool process).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.pump.join(timeout=2)


def prepare() -> None:
    """Migrate and load the demo data (both idempotent), showing their output only on failure."""
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    log = io.StringIO()
    try:
        call_command("migrate", interactive=False, stdout=log, stderr=log)
        call_command("seed_demo", scale="small", stdout=log, stderr=log)
    except Exception:
        print(log.getvalue(), end="", file=sys.stderr)
        raise
    finally:
        connections.close_all()  # the children open their own


def demo_sign_ins() -> list[tuple[str, str, str]]:
    """(username, role, teams) of the users seed_demo creates."""
    from accounts.models import Role
    from core.demo import DEMO_USERS

    return [(spec.username, Role(spec.role).label, ", ".join(spec.teams)) for spec in DEMO_USERS]


def wait_for_web(port: int, children: list[Child], stop: threading.Event) -> Child | None:
    """Until the site answers (any HTTP status will do). The child that exited meanwhile, or
    the web server's if it never answered."""
    deadline = time.monotonic() + START_SECONDS
    while not stop.is_set():
        for child in children:
            if child.exited is not None:
                return child
        if time.monotonic() > deadline:
            return children[0]
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return None
        except urllib.error.HTTPError:
            return None  # it answered (503: the broker is not reachable yet)
        except OSError:  # URLError included: not listening yet
            stop.wait(0.3)
    return None


def wait_for_worker(children: list[Child], stop: threading.Event) -> tuple[bool, Child | None]:
    """Send core.tasks.ping through the broker until the worker answers it."""
    from celery.exceptions import TimeoutError as ResultTimeout

    from config.celery import app

    try:
        result = app.send_task("core.tasks.ping", expires=START_SECONDS)
    except Exception:  # the broker is unreachable: the worker's own lines will say so
        return False, None
    deadline = time.monotonic() + START_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        for child in children:
            if child.exited is not None:
                return False, child
        try:
            return result.get(timeout=1, interval=0.2) == "pong", None
        except ResultTimeout:
            continue
    return False, None


def serve(port: int, env: dict[str, str], out: Output, stop: threading.Event) -> int:
    from django.conf import settings
    from django.urls import reverse

    from core.demo import DEMO_PASSWORD

    site = f"http://127.0.0.1:{port}"
    argv = commands(port, debug=settings.DEBUG, log_level=env["LOG_LEVEL"])
    out.say(f"Starting the web server, the Celery worker and beat on {site} …")
    children = [Child(name, command, env, out) for name, command in argv.items()]
    failed: Child | None = None
    try:
        failed = wait_for_web(port, children, stop)
        worker_ready = False
        if failed is None and not stop.is_set():
            worker_ready, failed = wait_for_worker(children, stop)
        if failed is not None or stop.is_set():
            return _stopped_while_starting(failed, out)
        if not worker_ready:
            out.show_held("worker")
        out.running(
            ready_block(
                url=site,
                users=demo_sign_ins(),
                password=DEMO_PASSWORD,
                mail_url=site + reverse("devmail:index") if settings.DEV_MAIL else None,
                debug=settings.DEBUG,
                worker_ready=worker_ready,
            )
        )
        while not stop.wait(0.5):
            failed = next((c for c in children if c.exited is not None), None)
            if failed is not None:
                out.say(f"The {failed.name} process stopped (exit {failed.exited}).")
                return 1
        return 0
    finally:
        out.stopping()
        out.say("\nStopping Rapport …" if stop.is_set() else "Stopping Rapport …")
        for child in children:
            child.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for child in children:
            child.finish(deadline)
        out.say("Rapport stopped.")


def _stopped_while_starting(failed: Child | None, out: Output) -> int:
    if failed is None:
        return 0  # Ctrl-C while starting
    out.show_held(failed.name)
    if failed.exited is None:
        out.say(f"The {failed.name} process did not answer within {START_SECONDS} seconds.")
    else:
        out.say(
            f"The {failed.name} process stopped (exit {failed.exited}) before Rapport was ready."
        )
    return 1


def main() -> int:
    try:
        port = port_from(os.environ)
    except ConfigurationError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if not port_is_free(port):
        print(
            f"Port {port} is in use (is Rapport already running?). "
            "Choose another: PORT=8080 make run",
            file=sys.stderr,
        )
        return 1
    env = run_environment(os.environ, port)
    os.environ.update(env)  # this process reads the same settings as its children
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    out = Output()
    try:
        out.say("Preparing the database and the demo data (a minute the first time) …")
        prepare()
    except KeyboardInterrupt:
        print("\nStopped before Rapport started.")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    return serve(port, env, out, stop)


if __name__ == "__main__":
    sys.exit(main())

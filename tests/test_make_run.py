"""`make run` (scripts/run.py): the port, the environment it serves with, the block a person
reads once it is ready, and what the settings make of that environment.

The whole start and stop (three real processes, Ctrl-C) is tried by hand; these pin what it
is made of.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_run", ROOT / "scripts" / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

USERS = [
    ("admin", "Admin", ""),
    ("executive", "Executive", "Partnerships, Public Sector"),
    ("manager", "Relationship manager", "Partnerships"),
]


def _block(**overrides) -> str:
    arguments = {
        "url": "http://127.0.0.1:8000",
        "users": USERS,
        "password": "rapport-demo-2026",
        "mail_url": "http://127.0.0.1:8000/dev/mail/",
        "debug": False,
    }
    return run.ready_block(**{**arguments, **overrides})


# --- PORT ---------------------------------------------------------------------------------


def test_the_port_is_8000_unless_port_is_given():
    assert run.port_from({}) == 8000
    assert run.port_from({"PORT": ""}) == 8000
    assert run.port_from({"PORT": "8080"}) == 8080
    assert run.port_from({"PORT": " 9000 "}) == 9000


@pytest.mark.parametrize("value", ["eighty", "80x", "0", "65536", "-1", "8000.5"])
def test_a_malformed_port_is_refused_naming_the_variable(value):
    with pytest.raises(run.ConfigurationError, match=r"^PORT is malformed: .* \(1–65535\)\.$"):
        run.port_from({"PORT": value})


def test_the_web_server_listens_on_the_port_and_the_links_use_it():
    env = run.run_environment({}, 8080)
    assert env["SITE_URL"] == "http://127.0.0.1:8080"  # links in e-mails come back here
    assert env["PORT"] == "8080"
    web = run.commands(8080, debug=False, log_level="WARNING")["web"]
    assert web[1:4] == ["manage.py", "runserver", "127.0.0.1:8080"]


def test_a_busy_port_is_reported_before_anything_starts():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert not run.port_is_free(taken.getsockname()[1])


# --- The environment ----------------------------------------------------------------------


def test_debug_is_off_and_logs_are_quiet_unless_asked_for():
    env = run.run_environment({"PATH": "/bin"}, 8000)
    assert env["DEBUG"] == "False"
    assert env["LOG_LEVEL"] == "WARNING"
    assert env["RAPPORT_LOCAL"] == "True"
    assert env["PATH"] == "/bin"
    asked = run.run_environment({"DEBUG": "1", "LOG_LEVEL": "INFO", "SITE_URL": "http://x"}, 80)
    assert (asked["DEBUG"], asked["LOG_LEVEL"], asked["SITE_URL"]) == ("1", "INFO", "http://x")


def test_the_server_reloads_on_code_changes_only_for_developers():
    assert "--noreload" in run.commands(8000, debug=False, log_level="WARNING")["web"]
    assert "--noreload" not in run.commands(8000, debug=True, log_level="WARNING")["web"]


def test_the_worker_and_beat_log_at_the_chosen_level_without_banners():
    processes = run.commands(8000, debug=False, log_level="WARNING")
    for name in ("worker", "beat"):
        argv = processes[name]
        assert "--quiet" in argv
        assert argv[argv.index("--loglevel") + 1] == "WARNING"


# --- The ready block ----------------------------------------------------------------------


def test_the_ready_block_names_the_address_the_sign_ins_and_the_password():
    block = _block(url="http://127.0.0.1:8080", mail_url="http://127.0.0.1:8080/dev/mail/")
    lines = block.splitlines()
    assert lines[0] == lines[-1] == run.RULE  # one block, easy to spot
    assert lines[1] == "  Rapport is ready at http://127.0.0.1:8080 — sign in as:"
    assert "    admin      Admin" in lines
    assert "    executive  Executive             Partnerships, Public Sector" in lines
    assert "    manager    Relationship manager  Partnerships" in lines
    assert "  Password for all of them: rapport-demo-2026" in lines
    assert "(http://127.0.0.1:8080/dev/mail/)" in block
    assert "Ctrl-C stops the web server, the Celery worker and beat." in block
    assert "DEBUG" not in block
    assert all(line == line.rstrip() and len(line) <= 80 for line in lines)


def test_the_ready_block_says_when_debug_is_on_and_when_mail_really_goes_out():
    block = _block(debug=True, mail_url=None)
    assert "DEBUG is on: errors show Django's debug page" in block
    assert "/dev/mail/" not in block and "Sent e-mails" not in block


def test_the_ready_block_says_what_waits_for_a_worker_that_has_not_answered():
    assert "worker has not answered yet" in _block(worker_ready=False)
    assert "not answered" not in _block()


def test_start_up_banners_are_held_back_and_shown_only_for_a_process_that_failed(capsys):
    out = run.Output()
    out.line("web", "Starting development server at http://127.0.0.1:8000/")
    out.line("worker", "celery@host ready.")
    assert capsys.readouterr().out == ""
    out.show_held("web")
    assert (
        capsys.readouterr().out
        == "web    | Starting development server at http://127.0.0.1:8000/\n"
    )
    out.running("READY")
    out.line("web", '[05/Dec/2026 10:00:00] "GET /static/css/rapport.css HTTP/1.1" 200 512')
    out.line("web", '[05/Dec/2026 10:00:00] "GET /static/css/gone.css HTTP/1.1" 404 179')
    out.line("web", '[05/Dec/2026 10:00:01] "GET / HTTP/1.1" 200 10892')
    out.stopping()
    out.line("worker", "worker: Warm shutdown (MainProcess)")
    assert capsys.readouterr().out.splitlines() == [
        "READY",
        'web    | [05/Dec/2026 10:00:00] "GET /static/css/gone.css HTTP/1.1" 404 179',
        'web    | [05/Dec/2026 10:00:01] "GET / HTTP/1.1" 200 10892',
    ]


def test_the_sign_ins_are_the_demo_users():
    from core.demo import DEMO_USERS

    sign_ins = run.demo_sign_ins()
    assert [username for username, _, _ in sign_ins] == [u.username for u in DEMO_USERS]
    assert ("manager", "Relationship manager", "Partnerships") in sign_ins


# --- What the settings make of it ---------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.conf import settings
    from django.test import Client
    client = Client(raise_request_exception=False)
    missing = client.get("/no-such-page/")
    css = client.get("/static/css/rapport.css")
    print(json.dumps({
        "debug": settings.DEBUG,
        "dev_mail": settings.DEV_MAIL,
        "email_backend": settings.EMAIL_BACKEND,
        "site_url": settings.SITE_URL,
        "secure_cookies": settings.SESSION_COOKIE_SECURE or settings.CSRF_COOKIE_SECURE,
        "ssl_redirect": settings.SECURE_SSL_REDIRECT,
        "missing_status": missing.status_code,
        "missing_html": missing.content.decode(),
        "css_status": css.status_code,
    }))
    """
)


def _settings_under(tmp_path: Path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    # The caller's environment minus what would decide the answer (the test run's own); a
    # database of its own, which the probe never needs to open.
    dropped = ("DEBUG", "SECRET_KEY", "SITE_URL", "EMAIL_URL", "ALLOWED_HOSTS", "RAPPORT_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    clean = {k: v for k, v in clean.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=run.run_environment(
            {**clean, "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}", **environ}, 8093
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_run_serves_the_products_own_error_pages_and_its_static_files(tmp_path):
    result = _settings_under(tmp_path, {})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False
    assert seen["missing_status"] == 404
    assert "Page not found" in seen["missing_html"] and "css/rapport.css" in seen["missing_html"]
    assert "URLconf" not in seen["missing_html"]  # not Django's debug page
    assert seen["css_status"] == 200  # served with DEBUG off, nothing collected first
    # Plain HTTP on loopback: cookies a browser sends back, no redirect to https.
    assert seen["secure_cookies"] is False and seen["ssl_redirect"] is False
    assert seen["site_url"] == "http://127.0.0.1:8093"
    assert seen["dev_mail"] is True and seen["email_backend"] == "devmail.backend.EmailBackend"


def test_a_real_mail_server_is_used_when_configured(tmp_path):
    result = _settings_under(tmp_path, {"EMAIL_URL": "smtp://mail.example.org:25"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["dev_mail"] is False
    assert seen["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"


def test_debug_1_gives_developers_the_debug_page(tmp_path):
    result = _settings_under(tmp_path, {"DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["debug"] is True and "URLconf" in seen["missing_html"]


def test_local_serving_is_refused_for_any_host_but_this_machine(tmp_path):
    result = _settings_under(tmp_path, {"ALLOWED_HOSTS": "rapport.example.org"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: RAPPORT_LOCAL is for this machine only: "
        "ALLOWED_HOSTS must be loopback."
    ]

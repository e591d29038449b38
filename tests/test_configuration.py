"""Start-up configuration: production refuses to start half-configured, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdef",
    "ALLOWED_HOSTS": "rapport.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://rapport.example.org",
    "SITE_URL": "https://rapport.example.org",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_key_with_debug_off_stops_with_one_line_naming_it():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["Configuration error: SECRET_KEY is required when DEBUG is off."]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "not-a-url"),
        ("DEBUG", "maybe"),
        ("REDIS_URL", "localhost:6379"),
        ("CONN_MAX_AGE", "sixty"),
        ("CSRF_TRUSTED_ORIGINS", "rapport.example.org"),
        ("SITE_URL", "rapport.example.org"),
        ("SITE_URL", "javascript:alert(1)"),
        ("TRUSTED_PROXIES", "10.0.0.5, proxy.internal"),
        ("TRUSTED_PROXIES", "10.0.0.5/8"),
    ],
)
def test_malformed_variable_stops_start_up_naming_it(name, value):
    result = run_manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {name} is malformed")


def test_production_needs_the_site_url_for_its_links():
    # E-mailed links come from SITE_URL, never from a request's Host header.
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SITE_URL"}
    result = run_manage("check", env={**env, "SITE_URL": ""})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: SITE_URL is required when DEBUG is off "
        "(e.g. https://rapport.example.org)."
    ]


def test_the_old_proxy_count_setting_is_refused_with_what_replaces_it():
    result = run_manage("check", env={**PRODUCTION_ENV, "PROXY_COUNT": "1"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr


def test_development_needs_no_environment_at_all(tmp_path):
    # DEBUG defaults on, SQLite in the checkout and the filesystem broker: nothing to set.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}", "REDIS_URL": ""}
    result = run_manage("check", env=env)
    assert result.returncode == 0, result.stderr

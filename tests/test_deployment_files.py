"""Docker cannot run here, so the compose file is checked for what would break a deploy."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat", "migrate")
# What settings.py needs in production (DEBUG off) to start and to reach its services.
REQUIRED_APP_ENV = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "SITE_URL",
}


def test_compose_has_the_production_services_with_health_checks():
    assert {"postgres", "redis", "web", "worker", "beat"} <= SERVICES.keys()
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in SERVICES[name], f"{name} has no health check"


def test_named_volumes_are_declared_and_used():
    declared = set(COMPOSE["volumes"])
    used = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
    }
    assert used <= declared
    assert {"postgres-data", "redis-data"} <= used


def test_each_app_service_gets_every_variable_settings_requires():
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        missing = REQUIRED_APP_ENV - env.keys()
        assert not missing, f"{name} lacks {missing}"
        assert env["DEBUG"] == "False"
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:" in env["DATABASE_URL"]


def test_web_is_stateless_so_it_can_scale():
    web = SERVICES["web"]
    assert "volumes" not in web, "web must not depend on local files between requests"
    assert "container_name" not in web, "a fixed container name prevents --scale"
    from django.conf import settings

    # Sessions are kept in the shared database (read through the shared cache), never in a
    # web instance's memory or files.
    assert settings.SESSION_ENGINE in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    }


def _module_attr(spec: str):
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr or "app")


def test_every_command_points_at_a_real_entry_point():
    for name in APP_SERVICES:
        command = SERVICES[name]["command"]
        program = command[0]
        if program == "gunicorn":
            assert callable(_module_attr(command[1]))
            config = command[command.index("--config") + 1]
            assert (ROOT / config).is_file()
        elif program == "celery":
            app = _module_attr(command[command.index("--app") + 1] + ".celery:app")
            assert command[3] in {"worker", "beat"}
            assert app.main == "rapport"
        elif program == "python":
            assert command[1] == "manage.py"
            assert (ROOT / "manage.py").is_file()
        else:
            raise AssertionError(f"{name}: unknown program {program}")


def test_procfile_commands_match_compose():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert procfile["web"].startswith("gunicorn config.wsgi:application")
    assert re.match(r"celery --app config worker", procfile["worker"])
    assert re.match(r"celery --app config beat", procfile["beat"])

"""`make backup` / `make restore` (drills/backup.py): the refusals and messages a person sees.

The round trip itself (a dump taken while clients write, restored and compared table by
table with checksums) needs PostgreSQL servers it may stop and fill: `make drills` runs it
as the backup_restore drill on a private cluster.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("drills_backup", ROOT / "drills" / "backup.py")
backup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backup)

NOWHERE = "postgres://postgres@127.0.0.1:1/rapport_restore_target"


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    monkeypatch.delenv("TARGET_DATABASE_URL", raising=False)
    monkeypatch.delenv("FORCE", raising=False)
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))


def test_backup_of_a_sqlite_database_is_refused_with_what_to_do(settings, capsys):
    settings.DATABASES["default"]["ENGINE"] = "django.db.backends.sqlite3"
    assert backup.main(["backup"]) == 2
    message = capsys.readouterr().err
    assert "SQLite" in message and "need PostgreSQL" in message
    assert "DATABASE_URL" in message and "sqlite3 db.sqlite3" in message


def test_restore_without_a_file_names_the_recent_dumps(tmp_path, capsys):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "rapport-20260101-120000.dump").write_bytes(b"PGDMP...")
    assert backup.main(["restore"]) == 2
    message = capsys.readouterr().err
    assert "make restore FILE=" in message
    assert "rapport-20260101-120000.dump" in message


def test_restore_of_a_missing_file_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TARGET_DATABASE_URL", NOWHERE)
    assert backup.main(["restore", str(tmp_path / "nope.dump")]) == 2
    assert "nope.dump does not exist" in capsys.readouterr().err


def test_restore_refuses_a_file_that_is_not_a_custom_format_dump(monkeypatch, tmp_path, capsys):
    plain = tmp_path / "plain.sql"
    plain.write_text("CREATE TABLE x (id int);")
    monkeypatch.setenv("TARGET_DATABASE_URL", NOWHERE)
    assert backup.main(["restore", str(plain)]) == 2
    assert "not a pg_dump custom-format file" in capsys.readouterr().err


def test_restore_into_a_malformed_target_url_names_the_variable(monkeypatch, tmp_path, capsys):
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")
    monkeypatch.setenv("TARGET_DATABASE_URL", "not a url")
    assert backup.main(["restore", str(dump)]) == 2
    assert "TARGET_DATABASE_URL" in capsys.readouterr().err


def test_connection_settings_travel_as_libpq_variables_not_arguments():
    database = backup.url_database("postgres://app:s3cret@db.internal:6543/rapport", "X")
    env = backup.libpq_env(database)
    assert env["PGHOST"] == "db.internal" and env["PGPORT"] == "6543"
    assert env["PGUSER"] == "app" and env["PGPASSWORD"] == "s3cret"
    assert env["PGDATABASE"] == "rapport"

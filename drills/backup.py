"""`make backup` and `make restore`: pg_dump / pg_restore of Rapport's PostgreSQL database.

    make backup                      # DATABASE_URL (or .env) → var/backups/rapport-<UTC time>.dump
    make restore FILE=var/backups/rapport-20260101-120000.dump
    make restore FILE=… TARGET_DATABASE_URL=postgres://…/rapport_copy
    make restore FILE=… FORCE=1      # replace the contents of a database that is not empty

The dump is pg_dump's custom format (compressed, restorable table by table, readable by
`pg_restore --list`). A backup taken while the site is in use is consistent: pg_dump reads
one snapshot. The restore runs in a single transaction (all or nothing), creates the target
database if it does not exist, and refuses to write into one that already has tables unless
FORCE=1 (then it drops and recreates the dumped objects first).

Options for scripts: `backup --snapshot ID` dumps an exported snapshot (the fault drill
compares checksums taken in that same snapshot), BACKUP_DIR overrides var/backups, PG_BIN
names the directory of pg_dump/pg_restore (default: the newest /usr/lib/postgresql/*/bin,
else PATH). Exit status: 0 done, 2 a refusal or bad input (message on stderr), else the
tool's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "backups"
DUMP_MAGIC = b"PGDMP"  # the first bytes of every custom-format dump


class Refusal(Exception):
    """Bad input or an unsafe request: printed as one message, exit status 2."""


# --- Where the database is ----------------------------------------------------------------


def settings_database() -> dict:
    """The database Rapport itself uses: DATABASE_URL, the .env file, or the dev default."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    return dict(settings.DATABASES["default"])


def url_database(url: str, variable: str) -> dict:
    import environ

    # django-environ reads almost any string as some URL: insist on a known scheme.
    if "://" not in url or url.split("://", 1)[0] not in environ.Env.DB_SCHEMES:
        raise Refusal(f"{variable} is malformed: {url!r} is not a database URL (postgres://…)")
    try:
        return environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several kinds for a malformed URL
        raise Refusal(f"{variable} is malformed: {exc}") from exc


def require_postgres(database: dict, action: str) -> None:
    if database.get("ENGINE") == "django.db.backends.postgresql":
        return
    if "sqlite" in str(database.get("ENGINE", "")):
        raise Refusal(
            f"make {action}: the database is SQLite ({database.get('NAME')}); backup and restore "
            "use pg_dump/pg_restore and need PostgreSQL. Point DATABASE_URL at it "
            "(postgres://user@host:5432/rapport). To copy a SQLite file instead, stop the app "
            "and run: sqlite3 db.sqlite3 \".backup 'var/backups/db.sqlite3'\""
        )
    raise Refusal(f"make {action}: {database.get('ENGINE')} is not PostgreSQL")


def libpq_env(database: dict, name: str | None = None) -> dict[str, str]:
    """Connection settings as libpq variables: no password on a command line."""
    env = dict(os.environ)
    values = {
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": name or database.get("NAME") or "",
    }
    sslmode = (database.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        values["PGSSLMODE"] = sslmode
    env.update({k: v for k, v in values.items() if v})
    return env


def connect(database: dict, name: str | None = None):
    import psycopg

    return psycopg.connect(
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        dbname=name or database["NAME"],
        sslmode=(database.get("OPTIONS") or {}).get("sslmode"),
        autocommit=True,
        connect_timeout=10,
    )


def pg_tool(name: str) -> str:
    """pg_dump/pg_restore: PG_BIN, else the newest installed server's, else PATH."""
    if os.environ.get("PG_BIN"):
        candidate = Path(os.environ["PG_BIN"]) / name
        if not candidate.is_file():
            raise Refusal(f"PG_BIN={os.environ['PG_BIN']} has no {name}")
        return str(candidate)
    installed = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if installed:
        return str(installed[-1])
    found = shutil.which(name)
    if not found:
        raise Refusal(f"{name} not found: install the PostgreSQL client tools or set PG_BIN")
    return found


# --- backup ----------------------------------------------------------------------------


def backup(*, database: dict, directory: Path, snapshot: str | None = None) -> Path:
    require_postgres(database, "backup")
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = directory / f"rapport-{stamp}.dump"
    n = 1
    while target.exists():  # two backups in the same second
        n += 1
        target = directory / f"rapport-{stamp}-{n}.dump"
    partial = target.with_suffix(".dump.partial")
    command = [pg_tool("pg_dump"), "--format=custom", "--no-password", f"--file={partial}"]
    if snapshot:
        command.append(f"--snapshot={snapshot}")
    started = time.monotonic()
    result = subprocess.run(command, env=libpq_env(database), check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise SystemExit(result.returncode)
    partial.rename(target)  # only a complete dump ever carries the final name
    seconds = time.monotonic() - started
    size = target.stat().st_size
    print(
        f"make backup: wrote {display(target)} ({size / 1_048_576:.1f} MB) from database "
        f"{database['NAME']} in {seconds:.1f} s"
    )
    return target


# --- restore ---------------------------------------------------------------------------


def user_tables(connection) -> int:
    return connection.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        """
    ).fetchone()[0]


def ensure_database(database: dict) -> bool:
    """Create the target database if it does not exist; True if it was created."""
    import psycopg
    from psycopg import sql

    try:
        connect(database).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise Refusal(f"make restore: cannot connect to {database['NAME']}: {exc}") from exc
    with connect(database, name="postgres") as maintenance:
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database["NAME"])))
    return True


def restore(*, file: Path, database: dict, force: bool = False) -> None:
    require_postgres(database, "restore")
    if not file.is_file():
        raise Refusal(f"make restore: {display(file)} does not exist")
    with open(file, "rb") as dump:
        if dump.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            raise Refusal(
                f"make restore: {display(file)} is not a pg_dump custom-format file "
                "(make backup writes those)"
            )
    created = ensure_database(database)
    if not created:
        with connect(database) as connection:
            existing = user_tables(connection)
        if existing and not force:
            raise Refusal(
                f"make restore: refusing to restore into {database['NAME']}: it is not empty "
                f"({existing} tables, sequences or views). Restore into a new database with "
                "TARGET_DATABASE_URL=postgres://…/<new name>, or add FORCE=1 to replace "
                "what is there."
            )
    command = [
        pg_tool("pg_restore"),
        "--no-password",
        "--no-owner",  # the target's connecting role owns everything restored
        "--exit-on-error",
        "--single-transaction",  # all or nothing
        f"--dbname={database['NAME']}",
    ]
    if force:
        command += ["--clean", "--if-exists"]
    started = time.monotonic()
    result = subprocess.run([*command, str(file)], env=libpq_env(database), check=False)
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    print(
        f"make restore: restored {display(file)} into "
        f"{'new ' if created else ''}database {database['NAME']} "
        f"in {time.monotonic() - started:.1f} s"
    )


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def recent_dumps(directory: Path, n: int = 5) -> list[str]:
    if not directory.is_dir():
        return []
    dumps = sorted(directory.glob("rapport-*.dump"), key=lambda p: p.stat().st_mtime)
    return [display(p) for p in dumps[-n:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="pg_dump DATABASE_URL to var/backups/")
    take.add_argument("--snapshot", help="an exported snapshot id (pg_export_snapshot())")
    put = commands.add_parser("restore", help="pg_restore FILE into TARGET_DATABASE_URL")
    put.add_argument("file", nargs="?", default="")
    put.add_argument("--force", action="store_true", help="replace a non-empty database")
    args = parser.parse_args(argv)
    directory = Path(os.environ.get("BACKUP_DIR") or DEFAULT_DIR)

    try:
        if args.command == "backup":
            backup(database=settings_database(), directory=directory, snapshot=args.snapshot)
        else:
            if not args.file:
                hint = "\n  ".join(recent_dumps(directory)) or "(none yet: run make backup)"
                raise Refusal(
                    "make restore: name the dump, e.g. make restore "
                    f"FILE=var/backups/rapport-<time>.dump\nrecent dumps:\n  {hint}"
                )
            target = os.environ.get("TARGET_DATABASE_URL")
            database = (
                url_database(target, "TARGET_DATABASE_URL") if target else settings_database()
            )
            force = args.force or os.environ.get("FORCE", "").lower() in {"1", "true", "yes"}
            restore(file=Path(args.file), database=database, force=force)
    except Refusal as refusal:
        print(refusal, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Private PostgreSQL and Redis servers for the fault drills: throwaway, on free loopback
ports, started as child processes the drill may stop, kill and restart at will.

The machine's own PostgreSQL (5432) and Redis (6379) serve other people; a drill never
touches them. PostgreSQL refuses to run as root, so when the drill runs as root the cluster
belongs to the ``postgres`` system user (its directory is chowned, the server runs with
that uid).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


def pg_bin_dir() -> Path:
    """The newest installed PostgreSQL server binaries (PG_BIN overrides)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise SystemExit("drills: no PostgreSQL server binaries (set PG_BIN)")
    return candidates[-1]


def kill_group(process: subprocess.Popen | None) -> None:
    """SIGKILL a server's whole process group (it and its children) and reap it."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class PrivatePostgres:
    """One throwaway cluster: initdb'd into ``workdir``, trust auth, fsync off (no machine
    crash is simulated: a stopped server has written everything out)."""

    def __init__(self, workdir: Path, port: int, log: Path):
        self.bin = pg_bin_dir()
        self.root = workdir / "pg"
        self.data = self.root / "data"
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None
        self.as_user: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            self.as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            self._uid, self._gid = entry.pw_uid, entry.pw_gid

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.root.mkdir(parents=True)
        if self.as_user:
            os.chown(self.root, self._uid, self._gid)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
            cwd=self.root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            **self.as_user,
        )  # fmt: skip

    def init_replica_of(self, primary: PrivatePostgres) -> None:
        """Make this cluster a streaming replica of ``primary``: ``pg_basebackup -R`` copies
        it and writes standby.signal and primary_conninfo, so it starts as a hot standby
        replaying the primary's WAL as it comes (`make scaleout`)."""
        self.root.mkdir(parents=True)
        if self.as_user:
            os.chown(self.root, self._uid, self._gid)
        subprocess.run(
            [str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream",
             "--checkpoint=fast", "--no-sync"],
            cwd=self.root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            **self.as_user,
        )  # fmt: skip

    def start(self, timeout: float = 30) -> float:
        """Start the server; returns the monotonic time it first accepted a query."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("PostgreSQL is already running")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", f"unix_socket_directories={self.root}",
                    "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                    "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning",
                ],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self.as_user,
            )  # fmt: skip
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30) -> float:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"drills: PostgreSQL exited early (see {self.log})")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                return time.monotonic()
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise SystemExit(f"drills: PostgreSQL not ready within {timeout:.0f} s (see {self.log})")

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(STOP_SIGNALS[mode])
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL to the server and all its backends, as a lost machine: no shutdown."""
        kill_group(self.process)

    def connect(self, database: str, **kwargs):
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True, **kwargs)

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.connect("postgres") as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate", timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server without persistence: a kill loses everything, as a crash would."""

    def __init__(self, workdir: Path, port: int, log: Path):
        self.port = port
        self.log = log
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 15) -> float:
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("drills: redis-server is not installed")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return time.monotonic()
            except redis.RedisError:
                time.sleep(0.05)
        raise SystemExit(f"drills: redis-server not ready within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL, like the OOM killer: no chance to say goodbye to its clients."""
        kill_group(self.process)

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()

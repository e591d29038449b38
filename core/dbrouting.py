"""Read scale-out: report reads from a PostgreSQL streaming replica, everything else from the
primary. Installed only when DATABASE_REPLICA_URL is set (config/settings.py adds the
"replica" alias, the router and the middleware); without it nothing here runs.

Report reads are GET requests to views marked ``@report_read`` (the dashboard, its chart
fragments and CSVs, the CSV exports) and the API's list GETs. Even there a read goes to the
primary when

- it runs inside a transaction, or after the request wrote: it must see what it wrote;
- it reads who the user is or what they may do (PRIMARY_ONLY_APPS): a sign-in just made, a
  revoked token or a lockout is never answered from the past;
- the user wrote recently (read-your-writes, below), or a figure about to be cached under
  a version (dashboard.figurecache) must include every write up to that version's making
  (``reads_fresh_since``);
- the replica is further behind than DATABASE_REPLICA_MAX_LAG_SECONDS, or unreachable: a
  failed connection leaves it alone for DATABASE_REPLICA_RETRY_SECONDS (per process), and
  a report that failed on it half-way is answered again from the primary, never a 5xx.

Freshness is one figure per process, ``fresh_as_of``: a wall-clock time before which every
commit on the primary is visible on the replica. It is probed at most every few seconds:
the primary's WAL position first, then the replica says whether it has replayed that far
(fresh as of the moment before the first question) or, if not, when the last transaction it
replayed committed. The lag is ``now - fresh_as_of``.

Read-your-writes: a request that wrote (any POST/PUT/PATCH/DELETE, or a GET that wrote
through the ORM) stamps its user with the time in the shared cache, so the stamp holds on
every web instance and for API tokens as for browsers. That user's report reads stay on
the primary until the replica is fresh past the stamp; the stamp expires once the lag limit
alone guarantees it. While the cache is down nobody's stamp can be read, so report reads
go to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core.middleware import DATABASE_OUTAGE_ERRORS

log = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
# Who the user is and whether they may be here: sessions, users, teams, API tokens, 2FA
# devices, lockouts, the security log. Small reads whose staleness would be a security bug
# (a revoked token honoured) or sign a user out (a session not replicated yet).
PRIMARY_ONLY_APPS = frozenset(
    {"sessions", "auth", "contenttypes", "accounts", "axes", "otp_static", "otp_totp", "security"}
)
REPORT_METHODS = ("GET", "HEAD")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # any other method may have written
# Clocks of different web hosts may disagree this much (NTP keeps them far closer).
CLOCK_MARGIN_SECONDS = 0.5
# How often a process asks the replica how far behind it is, at most.
MAX_CHECK_SECONDS = 2.0
WROTE_KEY = "dbrouting:wrote:{user_id}"
# RAPPORT_BENCH only: how many of the request's reads the replica answered (not the probes).
BENCH_HEADER = "X-Replica-Query-Count"
# Begins the probe's query: it is told apart from reads (the header, the database's logs).
PROBE_MARK = "/* rapport replica probe */"


def check_seconds() -> float:
    # Twice per tolerated lag at least: a caught-up replica never looks lagging for want of
    # a probe.
    return min(MAX_CHECK_SECONDS, settings.DATABASE_REPLICA_MAX_LAG_SECONDS / 2)


# --- What this process knows of the replica -------------------------------------------


class _ReplicaHealth:
    """Shared by the threads of a process; each thread probes on its own connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.probing = threading.Lock()  # one probe at a time; the others use the last one
        self.fresh_as_of: float | None = None  # a time.time(); None: unknown or unusable
        self.probed_at = 0.0  # time.time() when the last probe started
        self.checked = -math.inf  # time.monotonic() of the last probe
        self.down_until = 0.0  # time.monotonic(); set by a failed connection
        self.problem = "not checked yet"

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until


_health = _ReplicaHealth()


def forget_health() -> None:
    """Start again from "not checked yet" (tests; a process knows nothing at start)."""
    global _health
    _health = _ReplicaHealth()


def replica_configured() -> bool:
    return REPLICA in connections.settings


def _mark_down(problem: str) -> None:
    with _health.lock:
        was_up = not _health.is_down()
        _health.down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        _health.fresh_as_of = None
        _health.problem = f"down: {problem}"
    with contextlib.suppress(Exception):  # the connection is broken; closing may fail too
        connections[REPLICA].close()
    if was_up:
        log.warning(
            "Read replica unavailable (%s): report reads go to the primary for %.0f s",
            problem,
            settings.DATABASE_REPLICA_RETRY_SECONDS,
        )


def _problem(exc: BaseException) -> str:
    # The driver's first line says it ("connection failed: … Connection refused").
    return f"{exc.__class__.__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"


def probe() -> None:
    """Measure how fresh the replica is, now: two small queries, one on each server."""
    started = time.time()
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            position = cursor.fetchone()[0]
    except DatabaseError:
        return  # the primary's own trouble, which the request meets anyway: decide nothing
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                f"{PROBE_MARK} SELECT pg_is_in_recovery(), "
                "pg_last_wal_replay_lsn() >= %s::pg_lsn, "
                "extract(epoch FROM pg_last_xact_replay_timestamp())",
                [position],
            )
            recovering, caught_up, replayed = cursor.fetchone()
    except DatabaseError as exc:
        _mark_down(_problem(exc))
        return
    if not recovering or caught_up:
        # Not a standby (a test mirror, or promoted), or it has replayed all the primary
        # had written when we asked: every commit before we asked is there.
        fresh: float | None = started
    else:
        fresh = float(replayed) if replayed is not None else None
    with _health.lock:
        if _health.is_down():
            return  # another thread has just failed to reach it: that wins until the retry
        if _health.fresh_as_of is None and fresh is not None:
            log.info("Read replica in use")
        _health.fresh_as_of, _health.probed_at = fresh, started
        _health.checked = time.monotonic()
        _health.problem = "" if fresh is not None else "nothing replayed since it started"


def _fresh_as_of() -> float | None:
    """The replica's freshness, probed again when the last probe is old; None while down."""
    if _health.is_down():
        return None
    if time.monotonic() - _health.checked >= check_seconds() and _health.probing.acquire(
        blocking=False
    ):
        try:
            probe()
        finally:
            _health.probing.release()
    return None if _health.is_down() else _health.fresh_as_of


def replica_status() -> str:
    """For /healthz: "ok", or why report reads go to the primary (probes now, unless the
    replica was just found down: a probe of a dead server costs up to its connect timeout)."""
    if not _health.is_down():
        probe()
    fresh = None if _health.is_down() else _health.fresh_as_of
    if fresh is None:
        return _health.problem
    lag = max(0.0, time.time() - fresh)
    if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        return f"lagging: {lag:.1f} s behind, reads go to the primary"
    return "ok"


# --- One request's reads --------------------------------------------------------------


@dataclass
class _Reads:
    request: HttpRequest
    report: bool = False  # a report read: the replica may answer
    wrote: bool = False  # through the ORM, to data the replica serves
    used_replica: bool = False
    refused: bool = False  # the replica failed during this request: the primary only
    fresh_since: float = 0.0  # reads must include every commit before this time.time()
    wrote_at: float | None = None  # the user's last write (the stamp), read once
    connected: bool | None = None  # the replica connection, checked once


_reads: ContextVar[_Reads | None] = ContextVar("rapport_reads", default=None)


@contextlib.contextmanager
def reads_fresh_since(moment: float) -> Iterator[None]:
    """Reads in this block include every commit made before ``moment`` (a time.time()): from
    the replica only if it has replayed that far, else from the primary (``math.inf``: the
    primary). For what is cached under a version: a stale read would outlive the lag."""
    state = _reads.get()
    if state is None or not state.report:
        yield
        return
    previous = state.fresh_since
    state.fresh_since = max(previous, moment)
    try:
        yield
    finally:
        state.fresh_since = previous


def primary_reads() -> contextlib.AbstractContextManager[None]:
    return reads_fresh_since(math.inf)


def _cache_unavailable() -> bool:
    check = getattr(cache, "is_unavailable", None)  # core.cache.FailOpenRedisCache
    return bool(check and check())


def _wrote_at(state: _Reads) -> float:
    if state.wrote_at is None:
        state.wrote_at = 0.0
        user = getattr(state.request, "user", None)
        if user is not None and user.is_authenticated:
            stamp = cache.get(WROTE_KEY.format(user_id=user.pk))
            if stamp is None and _cache_unavailable():
                stamp = math.inf  # cannot tell whether they just wrote: assume they did
            state.wrote_at = float(stamp or 0.0)
    return state.wrote_at


def _connected(state: _Reads) -> bool:
    """Once per request, before the first replica read: the pooled connection is checked
    (one round trip) or opened, so a replica that died since the last probe costs a
    connection attempt (connect_timeout), not a failed page."""
    if state.connected is None:
        replica = connections[REPLICA]
        try:
            replica.close_if_health_check_failed()
            replica.ensure_connection()
            state.connected = True
        except DatabaseError as exc:
            _mark_down(_problem(exc))
            state.connected = False
    return state.connected


def _replica_serves(state: _Reads) -> bool:
    fresh = _fresh_as_of()
    if fresh is None:
        return False
    now = time.time()
    if now - fresh > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        return False
    required = max(state.fresh_since, _wrote_at(state)) + CLOCK_MARGIN_SECONDS
    if fresh <= required:
        # Not known to hold the writes required. A probe now may show that it does, unless
        # one started after them already said no (then wait for the next regular probe).
        if (
            now <= required
            or _health.probed_at > required
            or not _health.probing.acquire(blocking=False)
        ):
            return False
        try:
            probe()
        finally:
            _health.probing.release()
        fresh = None if _health.is_down() else _health.fresh_as_of
        if fresh is None or fresh <= required:
            return False
    return _connected(state)


class ReplicaRouter:
    """Report reads to the replica when it can answer them (see the module's docstring);
    every write, migration and other read to the primary."""

    def db_for_read(self, model, **hints) -> str:
        state = _reads.get()
        if (
            state is None
            or not state.report
            or state.wrote
            or state.refused
            or model._meta.app_label in PRIMARY_ONLY_APPS
            # A transaction reads what it is about to write (and may lock it).
            or connections[PRIMARY].in_atomic_block
            or not _replica_serves(state)
        ):
            # Explicit, never None: Django would otherwise follow the instance's database
            # hint, and a row once read from the replica would drag later reads there.
            return PRIMARY
        state.used_replica = True
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        state = _reads.get()
        if state is not None and model._meta.app_label not in PRIMARY_ONLY_APPS:
            state.wrote = True  # what follows in this request must see it
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # A row read from the replica is a row of the primary.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == PRIMARY


# --- Which requests are report reads --------------------------------------------------

V = TypeVar("V")


def report_read(view: V) -> V:
    """Marks a view (function or class) as a report: its GETs may read from the replica.
    Only for pages that show figures or rows and write nothing the page itself shows."""
    view.report_read = True  # type: ignore[attr-defined]
    return view


def is_report_view(view_func: Callable) -> bool:
    if getattr(view_func, "report_read", False):
        return True
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    if getattr(view_class, "report_read", False):
        return True
    # The API's list GETs (REST framework viewsets name the action of each method).
    return (getattr(view_func, "actions", None) or {}).get("get") == "list"


def _remember_write(request: HttpRequest) -> None:
    try:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
    except DatabaseError:  # the primary is out of reach (a 503 page): nothing was written
        return
    # After this long the lag limit alone keeps the replica fresh past the write.
    timeout = math.ceil(settings.DATABASE_REPLICA_MAX_LAG_SECONDS + CLOCK_MARGIN_SECONDS) + 1
    cache.set(WROTE_KEY.format(user_id=user.pk), time.time(), timeout)


def _streamed_with(state: _Reads, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A streamed export reads its rows while it is sent, after the view has returned: the
    request's routing applies to each chunk again."""
    iterator = iter(chunks)
    while True:
        token = _reads.set(state)
        try:
            chunk = next(iterator, None)
        finally:
            _reads.reset(token)
        if chunk is None:
            return
        yield chunk


class _ReplicaFailed(HttpResponse):
    """The answer of a report that failed on the replica, replaced by a second run."""

    status_code = 503


class ReplicaReadsMiddleware:
    """Marks report reads (process_view), answers again from the primary a report the
    replica failed half-way, and stamps the user of any request that wrote. Last in
    MIDDLEWARE: everything before it (the session, the user) has read from the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        state = _Reads(request)
        token = _reads.set(state)
        counted = [0]
        try:
            with _counting_replica_queries(counted):
                response = self.get_response(request)
                if state.used_replica and response.status_code == 503:
                    # The replica failed after the connection check (killed mid-request):
                    # a report is a GET, so it is simply run again, on the primary.
                    if not isinstance(response, _ReplicaFailed):
                        _mark_down("a report failed on it")  # the API answered 503 itself
                    state.used_replica, state.refused = False, True
                    response = self.get_response(request)
        finally:
            _reads.reset(token)
        if state.wrote or request.method not in SAFE_METHODS:
            _remember_write(request)
        if settings.RAPPORT_BENCH:
            response[BENCH_HEADER] = str(counted[0])
        if state.report and response.streaming:
            response.streaming_content = _streamed_with(state, response.streaming_content)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        state = _reads.get()
        if state is not None and request.method in REPORT_METHODS and is_report_view(view_func):
            state.report = True

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        state = _reads.get()
        if (
            state is not None
            and state.used_replica
            and isinstance(exception, DATABASE_OUTAGE_ERRORS)
        ):
            _mark_down(_problem(exception))
            return _ReplicaFailed()  # not the outage page: __call__ answers again
        return None


@contextlib.contextmanager
def _counting_replica_queries(counted: list[int]) -> Iterator[None]:
    if not settings.RAPPORT_BENCH:
        yield
        return

    def count(execute, sql, params, many, context):
        counted[0] += not sql.startswith(PROBE_MARK)
        return execute(sql, params, many, context)

    with connections[REPLICA].execute_wrapper(count):
        yield

"""Locust scenario for `make loadtest` (bench/loadtest.py prepares and runs it).

Three kinds of users against one deployment, weighted 5:2:3:

- ManagerUser signs in through the login form as one of the relationship managers, browses
  the relationship list with filters, opens relationships they manage, logs interactions
  through the quick-log form (a POST with the page's CSRF token), opens the board and home.
- ExecutiveUser signs in as an executive: the dashboard with and without filters, the
  relationship list, the objective tree.
- ApiUser uses a personal API token: relationship and interaction lists with filters and
  pagination, and logs interactions with POST /api/v1/interactions/.

Every summary written starts with ``loadtest-<RUN_ID> <write id>``, so the records the
scenario wrote can be counted afterwards; the write ids the server acknowledged (302 from
the form, 201 from the API) are saved to LOADTEST_ACKED_FILE when locust quits.

Environment: LOADTEST_SETUP (JSON written by bench/loadtest.py: users, their relationships,
API tokens, team ids), LOADTEST_RUN_ID, LOADTEST_ACKED_FILE. The server runs with production
settings behind a (pretend) TLS proxy: every request says ``X-Forwarded-Proto: https`` and
the Secure cookies are sent over the loopback's plain HTTP.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import date, timedelta
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlencode

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

RUN_ID = os.environ.get("LOADTEST_RUN_ID", "adhoc")
MARKER = f"loadtest-{RUN_ID}"
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "rapport-demo-2026")
SETUP = json.loads(Path(os.environ["LOADTEST_SETUP"]).read_text())
ACKED_FILE = os.environ.get("LOADTEST_ACKED_FILE")

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STAGES = ["identify", "present", "pilot", "build", "review"]
HEALTH = ["good", "fair", "poor"]
SORTS = ["health", "-health", "stage", "last_contact", "-last_contact", "next_review"]
PERIODS = ["this_month", "last_month", "this_quarter", "last_quarter", "this_year"]
CHANNELS = ["meeting", "call", "email", "event", "site_visit", "other"]
SEARCHES = ["heron", "trust", "foundation", "global", "partners"]

# As the TLS proxy in front of gunicorn does (nginx's default upstream HTTP/1.0): one
# connection per request. Reusing idle keep-alive connections would race gunicorn closing
# them after its 2 s keep-alive, and a POST lost that way is the load generator's artefact.
UPSTREAM = {"Connection": "close"}

# Which account each new locust user takes: round robin over the prepared pools.
_next = {kind: itertools.count() for kind in ("manager", "executive", "api")}
_write_ids = itertools.count(1)
ACKED: list[str] = []  # write ids the server confirmed
SENT: list[str] = []  # write ids whose request was sent (acknowledged or not)


def _pick(kind: str, pool: list):
    return pool[next(_next[kind]) % len(pool)]


def _write_id(kind: str) -> str:
    return f"{kind}-{next(_write_ids)}"


def _summary(write_id: str) -> str:
    return f"{MARKER} {write_id} " + random.choice(
        ["Call about next quarter.", "Met their programme lead.", "Sent the draft plan."]
    )


def _why(response) -> str:
    """Status and reason of a failed response; status 0 means no answer (the exception)."""
    if not response.status_code:
        return f"no response: {getattr(response, 'error', None)!r}"
    return f"{response.status_code} {(response.text or '')[:200]}"


def _past_day() -> str:
    # Never "today": the server's day (TIME_ZONE) may differ from this machine's.
    return (date.today() - timedelta(days=random.randint(1, 20))).isoformat()


@events.quitting.add_listener
def _save_acknowledged(environment, **kwargs):
    if ACKED_FILE:
        Path(ACKED_FILE).write_text(json.dumps({"acked": ACKED, "sent": SENT}))


class _Browser(FastHttpUser):
    """Signs in through the login form like a browser; keeps the (Secure) cookies."""

    abstract = True
    wait_time = between(1, 3)
    network_timeout = 60.0
    connection_timeout = 10.0
    default_headers = {"X-Forwarded-Proto": "https", "Accept": "text/html", **UPSTREAM}
    username = ""

    def on_start(self) -> None:
        # The loopback speaks plain HTTP while the app sets Secure cookies (it sits behind
        # TLS in production): let the cookie jar send them anyway.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("http", "https")))
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.sign_in()

    def post_form(self, path: str, referer: str, data: dict, **kwargs):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin,
            "Referer": self.origin + referer,
        }
        return self.client.post(
            path, data=urlencode(data), headers=headers, allow_redirects=False, **kwargs
        )

    def sign_in(self) -> None:
        with self.client.get("/accounts/login/", name="login page", catch_response=True) as r:
            match = CSRF.search(r.text or "")
            if not match:
                r.failure("no CSRF token on the login page")
                raise RuntimeError("no CSRF token on the login page")
        data = {
            "csrfmiddlewaretoken": match.group(1),
            "username": self.username,
            "password": PASSWORD,
        }
        with self.post_form(
            "/accounts/login/", "/accounts/login/", data, name="sign in (POST)", catch_response=True
        ) as r:
            if r.status_code != 302:
                r.failure(f"sign-in as {self.username}: {_why(r)}")

    def page(self, path: str, name: str, expect: str | None = None):
        """GET a page; a redirect to the login form or a missing landmark is a failure."""
        with self.client.get(path, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(_why(r))
            elif expect and expect not in (r.text or ""):
                r.failure(f"{expect!r} not in the page")
            return r


class ManagerUser(_Browser):
    weight = 5

    def on_start(self) -> None:
        account = _pick("manager", SETUP["managers"])
        self.username = account["username"]
        self.relationships = account["relationships"]
        super().on_start()

    @task(3)
    def relationship_list(self) -> None:
        filters = random.choice(
            [
                {},
                {"stage": random.choice(STAGES)},
                {"health": random.choice(HEALTH), "status": "active"},
                {"sort": random.choice(SORTS)},
                {"stage": random.choice(STAGES), "team": random.choice(SETUP["teams"])},
                {"q": random.choice(SEARCHES)},
            ]
        )
        name = "relationship list" + (", filtered" if filters else "")
        self.page("/relationships/?" + urlencode(filters), name)

    @task(3)
    def relationship_detail(self) -> None:
        pk = random.choice(self.relationships)
        self.page(f"/relationships/{pk}/", "relationship detail", expect="csrfmiddlewaretoken")

    @task(2)
    def quick_log(self) -> None:
        pk = random.choice(self.relationships)
        detail = f"/relationships/{pk}/"
        page = self.page(detail, "relationship detail", expect="csrfmiddlewaretoken")
        match = CSRF.search(page.text or "")
        if not match:
            return
        write_id = _write_id("form")
        data = {
            "csrfmiddlewaretoken": match.group(1),
            "occurred_on": _past_day(),
            "channel": random.choice(CHANNELS),
            "summary": _summary(write_id),
            "sentiment": random.choice([-1, 0, 1, 2]),
        }
        SENT.append(write_id)
        with self.post_form(
            f"{detail}interactions/new/",
            detail,
            data,
            name="quick-log interaction (POST)",
            catch_response=True,
        ) as r:
            location = r.headers.get("Location", "") if r.headers else ""
            if r.status_code == 302 and location.endswith(detail):
                ACKED.append(write_id)
            elif r.status_code == 200:
                r.failure("form refused (200 with errors)")
            else:
                r.failure(f"{_why(r)} {location}")

    @task(1)
    def board(self) -> None:
        self.page("/relationships/board/", "board")

    @task(1)
    def home(self) -> None:
        self.page("/", "manager home")


class ExecutiveUser(_Browser):
    weight = 2

    def on_start(self) -> None:
        self.username = _pick("executive", SETUP["executives"])
        super().on_start()

    @task(3)
    def dashboard(self) -> None:
        self.page("/dashboard/", "executive dashboard")

    @task(3)
    def dashboard_filtered(self) -> None:
        filters = {"period": random.choice(PERIODS)}
        if random.random() < 0.5:
            filters["team"] = random.choice(SETUP["teams"])
        self.page("/dashboard/?" + urlencode(filters), "executive dashboard, filtered")

    @task(2)
    def relationship_list(self) -> None:
        filters = random.choice([{}, {"status": "active", "sort": "health"}])
        self.page("/relationships/?" + urlencode(filters), "relationship list (executive)")

    @task(2)
    def objective_tree(self) -> None:
        self.page("/plans/", "objective tree")


class ApiUser(FastHttpUser):
    weight = 3
    wait_time = between(0.5, 2)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        account = _pick("api", SETUP["api"])
        self.relationships = account["relationships"]
        self.headers = {
            "Authorization": f"Bearer {account['token']}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
            **UPSTREAM,
        }

    def get_list(self, path: str, name: str, follow_next: bool) -> None:
        with self.client.get(path, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(_why(r))
                return
            following = (r.json() or {}).get("next")
        if follow_next and following:
            # Pagination as a client walks it: page 2 from the `next` link.
            page = following.split("/api/", 1)[1]
            self.get_list("/api/" + page, name + " (page 2)", follow_next=False)

    @task(3)
    def relationships_list(self) -> None:
        filters = random.choice(
            [
                {},
                {"stage": random.choice(STAGES)},
                {"health": random.choice(HEALTH), "ordering": "-health_score"},
                {"team": random.choice(SETUP["teams"]), "page_size": 100},
            ]
        )
        self.get_list(
            "/api/v1/relationships/?" + urlencode(filters),
            "API relationships list" + (", filtered" if filters else ""),
            follow_next=random.random() < 0.3,
        )

    @task(3)
    def interactions_list(self) -> None:
        filters = random.choice(
            [
                {},
                {"relationship": random.choice(self.relationships)},
                {"channel": random.choice(CHANNELS), "occurred_after": _past_day()},
            ]
        )
        self.get_list(
            "/api/v1/interactions/?" + urlencode(filters),
            "API interactions list" + (", filtered" if filters else ""),
            follow_next=random.random() < 0.3,
        )

    @task(2)
    def log_interaction(self) -> None:
        write_id = _write_id("api")
        body = {
            "relationship": random.choice(self.relationships),
            "occurred_on": _past_day(),
            "channel": random.choice(CHANNELS),
            "summary": _summary(write_id),
            "sentiment": random.choice([-1, 0, 1, 2]),
        }
        SENT.append(write_id)
        with self.client.post(
            "/api/v1/interactions/",
            json=body,
            headers=self.headers,
            name="API log interaction (POST)",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                ACKED.append(write_id)
            else:
                r.failure(_why(r))

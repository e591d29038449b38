"""Security headers over every route, and no inline script or style anywhere.

The crawl enumerates every URL pattern in the resolver (tests/security/every_route.py), fills
its arguments with real records, and requests it as a signed-in admin, plainly and as an HTMX
fragment. A new route whose arguments the crawl cannot fill fails the test with what to add.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from config.urls import SWAGGER_STYLE_HASH
from core.middleware import PERMISSIONS_POLICY
from tests.security.every_route import UnfilledRoute, all_routes, build_world, iter_urls

pytestmark = pytest.mark.django_db

# The one page allowed a <style> block: Swagger UI's, allowed by its hash (config/urls.py).
API_DOCS = "/api/docs/"
# Answers that are fine for a GET on this crawl: pages, redirects, and POST-only actions.
EXPECTED_STATUSES = {200, 302, 405}
# The admin refuses (403) adding or deleting read-only records (logs, transitions, the
# security policy), the OTP QR code of another's device, and an autocomplete without its
# query: refusals by design, still checked for headers.
EXPECTED_ADMIN_STATUSES = {403}
# Inline code the crawl tolerates, with why. simple_history's admin history list
# (object_history_list.html) writes style="border-top: 0" on its paginator: CSP blocks it,
# which only leaves a border on an admin-only page; forking the template to drop it is not
# worth the upgrade burden.
TOLERATED = {("/admin/", 'a style attribute on <p class="paginator">')}
# The admin's catch-all answers 404 for any unknown admin address: that is its job.
EXPECTED_404 = {"/admin/no-such-admin-page/"}


class InlineCode(HTMLParser):
    """Collects what a strict CSP blocks: inline scripts, style blocks and attributes, and
    inline event handlers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.style_blocks: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("an inline <script> (no src)")
        if tag == "style":
            self._in_style = True
            self.style_blocks.append("")
        if "style" in names:
            css_class = dict(attrs).get("class")
            where = f'<{tag} class="{css_class}">' if css_class else f"<{tag}>"
            self.problems.append(f"a style attribute on {where}")
        handlers = sorted(n for n in names if n.startswith("on"))
        if handlers:
            self.problems.append(f"inline event handler(s) {handlers} on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style_blocks[-1] += data


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(response, url: str) -> list[str]:
    problems = []
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if not response.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    if response.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append("Cross-Origin-Opener-Policy is not same-origin")
    if response.get("Permissions-Policy") != PERMISSIONS_POLICY:
        problems.append(f"Permissions-Policy is {response.get('Permissions-Policy')!r}")
    if not response.get("Content-Type", "").startswith("text/html"):
        return problems
    csp = csp_directives(response.get("Content-Security-Policy", ""))
    if not csp:
        return [*problems, "no Content-Security-Policy"]
    script_src = csp.get("script-src", csp.get("default-src"))
    if script_src is None or "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"script-src allows inline code: {script_src}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    if response.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options is {response.get('X-Frame-Options')!r}")
    return problems


def body_problems(response, url: str) -> list[str]:
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return []
    parser = InlineCode()
    parser.feed(response.content.decode())
    problems = [
        problem
        for problem in parser.problems
        if not any(url.startswith(prefix) and problem == known for prefix, known in TOLERATED)
    ]
    allowed_styles = csp_directives(response["Content-Security-Policy"]).get("style-src", [])
    for block in parser.style_blocks:
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        if url != API_DOCS or f"'sha256-{digest}'" not in allowed_styles:
            problems.append(f"a <style> block not allowed by its hash (sha256-{digest})")
    return problems


@pytest.fixture
def world(admin_user, manager_a, team_a):
    return build_world(admin_user=admin_user, manager=manager_a, team=team_a)


def test_every_route_answers_with_the_security_headers_and_no_inline_code(world, admin_user):
    client = Client(raise_request_exception=False)  # a crash is one problem among the list
    client.force_login(admin_user)
    problems: list[str] = []
    statuses: Counter = Counter()
    crawled = 0
    for route, url in iter_urls(world):
        for variant, headers in (("page", {}), ("htmx", {"HX-Request": "true"})):
            response = client.get(url, headers=headers)
            crawled += 1
            statuses[response.status_code] += 1
            where = f"{url} [{variant}] ({route.name or route.path}) → {response.status_code}"
            expected = EXPECTED_STATUSES | (
                EXPECTED_ADMIN_STATUSES if url.startswith("/admin/") else set()
            )
            if response.status_code not in expected and url not in EXPECTED_404:
                problems.append(f"{where}: unexpected status")
            problems.extend(f"{where}: {p}" for p in header_problems(response, url))
            problems.extend(f"{where}: {p}" for p in body_problems(response, url))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    # The crawl must really open pages, not bounce off redirects and 405s.
    assert statuses[200] > 0.6 * crawled, statuses
    print(f"\ncrawled {crawled} requests over {len(all_routes())} routes: {dict(statuses)}")


def test_the_crawl_refuses_a_route_it_cannot_fill(world, settings):
    settings.ROOT_URLCONF = "tests.security.unfillable_urls"
    with pytest.raises(UnfilledRoute, match=r"no value for the argument 'widget_pk'"):
        list(iter_urls(world))


def test_the_api_docs_style_hash_matches_its_only_style_block(admin_user):
    client = Client()
    client.force_login(admin_user)
    response = client.get(API_DOCS)
    parser = InlineCode()
    parser.feed(response.content.decode())
    assert len(parser.style_blocks) == 1
    digest = base64.b64encode(hashlib.sha256(parser.style_blocks[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" == SWAGGER_STYLE_HASH
    assert re.search(r"style-src [^;]*'sha256-", response["Content-Security-Policy"])


def test_error_and_outage_pages_carry_the_headers_too(admin_user, settings, monkeypatch):
    from django.db import OperationalError

    from relationships import selectors

    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    assert not header_problems(client.get("/no-such-page/"), "/no-such-page/")

    def down(user):
        raise OperationalError("down")

    monkeypatch.setattr(selectors, "relationships_visible_to", down)
    response = client.get("/relationships/")
    assert response.status_code == 503
    assert not header_problems(response, "/relationships/")
    assert not body_problems(response, "/relationships/")

"""Every main page through axe-core in a real browser: no serious or critical WCAG 2 A/AA
violation. axe comes from the npm registry (package.json pins it, `make install` runs
`npm ci`) and is injected from node_modules, never from a CDN: the CSP and CI forbid both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser.fixtures import sign_in
from tests.browser.test_every_page_fits import HTMX_IDLE, main_pages, seed
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"

# Only the WCAG 2.0/2.1 A and AA rules; "best-practice" rules are advice, not the bar.
RUN_AXE = """() => axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  resultTypes: ['violations'],
}).then(results => results.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, help: v.help,
              targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"""


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        message = f"no axe-core at {AXE}: run `make install` (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE


def violations(page, path: str) -> list[str]:
    """The serious and critical axe violations on one page, one line each."""
    response = page.goto(path)
    page.wait_for_function(HTMX_IDLE)
    if response.status != 200:
        return [f"{path}: HTTP {response.status}"]
    return [
        f"{path}: {v['id']} ({v['impact']}): {v['help']}: {', '.join(v['targets'])}"
        for v in page.evaluate(RUN_AXE)
    ]


def test_every_main_page_has_no_serious_accessibility_violation(page, admin_user, axe_script):
    # The page's CSP (script-src 'self') blocks a <script> tag with axe's text in it
    # (page.add_script_tag); an init script runs through the DevTools protocol instead, on
    # every document the page opens, beside the page's own scripts and outside its CSP.
    page.context.add_init_script(path=axe_script)
    ids = seed(admin_user)
    problems = []
    # Signed out: the sign-in pages and the survey a stakeholder answers from an e-mail.
    for path in (
        reverse("login"),
        reverse("password_reset"),
        reverse("feedback:answer", args=[ids["token"]]),
    ):
        problems += violations(page, path)
    sign_in(page, "boss", TEST_PASSWORD)
    page.wait_for_url("**/")
    for target in main_pages(ids):
        problems += violations(page, target.path)
    assert not problems, "\n".join(problems)

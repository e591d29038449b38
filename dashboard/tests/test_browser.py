"""An executive filters the dashboard in a real browser and drills into a chart."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory, TeamFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_executive_filters_the_dashboard_and_drills_into_the_funnel(page, executive):
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    for i in range(3):
        RelationshipFactory(
            team=north, stage="pilot", stakeholder=StakeholderFactory(name=f"North pilot {i}")
        )
    RelationshipFactory(team=south, stage="pilot", stakeholder=StakeholderFactory(name="South 1"))
    RelationshipFactory(team=south, stage="build", stakeholder=StakeholderFactory(name="South 2"))

    sign_in(page, "exec", TEST_PASSWORD)
    page.goto("/dashboard/")
    active = page.locator("#figure-active .tile-value")
    assert active.inner_text() == "5"

    page.get_by_label("Team", exact=True).select_option(label="North")
    page.wait_for_url(re.compile(r"/dashboard/\?.*team=\d+"))
    page.get_by_text("Team: North").wait_for()
    assert active.inner_text() == "3"  # updated in place
    assert page.locator("nav").count() == 1  # the fragment replaced the figures only

    # The bar's link is named by its SVG <title>, as a screen reader reads it.
    page.locator("#chart-funnel").get_by_role("link", name="Pilot: 3 relationships").click()
    page.wait_for_url(re.compile(r"/relationships/\?"))
    query = parse_qs(urlparse(page.url).query)
    assert query == {"stage": ["pilot"], "team": [str(north.pk)]}
    assert page.get_by_text("North pilot 0").is_visible()
    assert page.get_by_text("South 1").count() == 0
    assert page.console_errors == []

"""Charts people can read (#16): axes and scales, amounts on the bars, the stakeholder
map's named quadrants, text of at least 12px, and data colours with 3:1 contrast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import time_machine

from dashboard import charts
from dashboard.tests.fixtures import NOW, PERIOD, build_portfolio

CSS = Path(charts.__file__).parent / "static" / "dashboard"


@pytest.fixture
def page(client, executive, manager_a, contributor_a, team_a, team_b) -> str:
    """The print view: every chart drawn inline, the deferred ones too."""
    with time_machine.travel(NOW, tick=False):
        build_portfolio(manager_a, contributor_a, team_a, team_b)
        client.force_login(executive)
        response = client.get("/dashboard/", {**PERIOD, "print": "1"})
    assert response.status_code == 200
    return response.content.decode()


def svg_of(html: str, title: str) -> str:
    """The first chart SVG after the chart's title."""
    start = html.index(title)
    return html[html.index("<svg", start) : html.index("</svg>", start)]


@pytest.mark.django_db
def test_every_chart_names_its_axes(page):
    for title, axes in [
        (charts.TITLES["funnel"], ["Relationships"]),
        (charts.TITLES["health"], ["Relationships", "Health score"]),
        (charts.TITLES["value"], ["Month", "GBP"]),
        (charts.TITLES["map"], ["Interest (1 low – 5 high)", "Power (1 low – 5 high)"]),
        (charts.TITLES["cascade"], ["Progress (%)"]),
        (charts.TITLES["satisfaction"], ["Score (1–5)", "Month"]),
        (charts.TITLES["adoption"], ["Active relationships contacted (%)", "Last 90 days"]),
        (charts.TITLES["weekly"], ["Week starting (day/month)", "Person", "Total"]),
    ]:
        svg = svg_of(page, title)
        for axis in axes:
            assert f">{axis}" in svg, (title, axis)


@pytest.mark.django_db
def test_bar_charts_have_a_scale_and_their_amounts(page):
    funnel = svg_of(page, charts.TITLES["funnel"])
    assert 'class="chart-axis"' in funnel and ">0</text>" in funnel
    # The value chart prints each month's total on its bar: GBP 1,000 in January.
    value = svg_of(page, charts.TITLES["value"])
    assert 'class="chart-value" text-anchor="middle">1.0k</text>' in value
    assert 'class="chart-value" text-anchor="middle">500</text>' in value
    adoption = svg_of(page, charts.TITLES["adoption"])
    assert ">100</text>" in adoption and "%</text>" in adoption


@pytest.mark.django_db
def test_the_stakeholder_map_names_its_quadrants(page):
    svg = svg_of(page, charts.TITLES["map"])
    for name in ["Manage closely", "Keep satisfied", "Keep informed", "Monitor"]:
        assert 'class="chart-quadrant"' in svg and f">{name}</text>" in svg
    # High power is at the top: "Keep satisfied" (high power, low interest) is top left.
    assert re.search(
        r'x="46" y="22" class="chart-quadrant" text-anchor="start">Keep satisfied', svg
    )


@pytest.mark.django_db
def test_no_chart_text_is_smaller_than_12px(page):
    for size in re.findall(r'font-size="([\d.]+)', page):
        assert float(size) >= 12
    for sheet in ("dashboard.css", "print.css"):
        css = (CSS / sheet).read_text()
        for value, unit in re.findall(r"font-size:\s*([\d.]+)(px|pt)", css):
            px = float(value) * (4 / 3 if unit == "pt" else 1)
            assert px >= 12, (sheet, value, unit)
    assert "font-size: 12px" in (CSS / "dashboard.css").read_text()


@pytest.mark.parametrize("background", charts.BACKGROUNDS)
@pytest.mark.parametrize("colour", charts.DATA_COLOURS)
def test_chart_colours_stand_out_from_the_background(colour, background):
    assert charts.contrast_ratio(colour, background) >= 3, (colour, background)


def test_the_contrast_ratio_matches_wcag():
    assert charts.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert charts.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    assert charts.contrast_ratio("#0d6efd", "#ffffff") == pytest.approx(4.5, abs=0.05)


@pytest.mark.django_db
def test_every_data_colour_in_the_svg_is_from_the_checked_palette(page):
    fills = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', page))
    assert fills <= {*charts.DATA_COLOURS, charts.TRACK, "#fff"}, fills

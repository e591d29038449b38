"""The dashboard page, its HTMX fragment, chart pages, CSV downloads and print view."""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

from dashboard import charts, figurecache, selectors
from dashboard.forms import DashboardFilterForm
from dashboard.tests.fixtures import NOW, PERIOD, TODAY, build_portfolio
from relationships.models import ACTIVE_STAGES, Relationship
from relationships.services import interaction_log
from tests.factories import (
    InteractionFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portfolio(frozen, manager_a, contributor_a, team_a, team_b):
    return build_portfolio(manager_a, contributor_a, team_a, team_b)


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_the_dashboard_shows_the_figures(client, portfolio, executive):
    client.force_login(executive)
    response = client.get("/dashboard/", PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="figure-active"' in html and ">5</span>" in html
    assert "66.7%" in html  # retention
    assert "Cedar Foods" in html and "Values no longer aligned" in html
    assert "How these figures are counted" in html and "started during the period" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]
    # The heavy charts load after the page answers, with a link that works without JS.
    assert 'hx-get="/dashboard/chart/map/?period=custom' in html
    assert 'href="/dashboard/chart/weekly/?period=custom' in html


def test_every_chart_has_a_table_and_a_csv_link(client, portfolio, executive):
    client.force_login(executive)
    html = client.get("/dashboard/", PERIOD).content.decode()
    for name in ("funnel", "health", "value", "satisfaction", "cascade", "adoption"):
        assert f'id="chart-{name}"' in html
        assert f"/dashboard/chart/{name}.csv?period=custom&amp;from=2026-01-01" in html
    assert html.count("Show as table") == 6
    assert html.count('class="chart-svg"') == 6


def test_an_htmx_request_gets_the_figures_fragment_only(client, portfolio, executive, team_b):
    client.force_login(executive)
    response = client.get("/dashboard/", {**PERIOD, "team": team_b.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="filter-errors"')
    assert 'id="figures"' in html and "<nav" not in html and '<form method="get"' not in html
    assert "Team: Team B" in html
    assert "HX-Request" in response["Vary"]


def test_a_bad_filter_shows_an_error_and_falls_back(client, portfolio, executive):
    client.force_login(executive)
    response = client.get(
        "/dashboard/", {"period": "custom", "from": "2026-03-01", "to": "2026-01-01", "team": "x"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters were not applied" in html
    assert "The end date must be on or after the start date." in html
    assert "Select a valid choice" in html
    assert 'aria-invalid="true"' in html
    assert "16 May 2025 – 15 May 2026" in html  # the default period instead


def test_the_funnel_links_open_the_matching_filtered_list(client, portfolio, executive, team_a):
    filters = DashboardFilterForm({**PERIOD, "team": team_a.pk}, today=TODAY).filters()
    figures = {"portfolio": selectors.portfolio(executive, filters)}
    chart = charts.funnel_chart(figures, filters)
    href = str(chart.svg).split('href="')[3].split('"')[0].replace("&amp;", "&")  # pilot
    assert parse_qs(urlparse(href).query) == {"stage": ["pilot"], "team": [str(team_a.pk)]}
    client.force_login(executive)
    listed = client.get(href).content.decode()
    assert "Alder Trust" in listed and "Birch Housing" not in listed


def test_health_bars_link_to_the_band_filter(portfolio, executive):
    filters = DashboardFilterForm(PERIOD, today=TODAY).filters()
    chart = charts.health_chart({"portfolio": selectors.portfolio(executive, filters)}, filters)
    assert "/relationships/?health=poor" in str(chart.svg)
    assert "/relationships/?health=good" in str(chart.svg)


@pytest.mark.parametrize(
    "name", ["funnel", "health", "value", "map", "cascade", "satisfaction", "adoption", "weekly"]
)
def test_each_csv_holds_the_rows_of_its_table(client, portfolio, executive, name):
    client.force_login(executive)
    response = client.get(f"/dashboard/chart/{name}.csv", PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"rapport-{name}-20260101-20260331.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    filters = DashboardFilterForm(PERIOD, today=TODAY).filters()
    chart = charts.CHARTS[name][0](charts.figures_for(name, executive, filters), filters)
    assert rows[0] == chart.header
    expected = [["" if cell is None else str(cell) for cell in row] for row in chart.rows]
    assert rows[1:] == expected
    # The page's table shows the same cells.
    page = client.get(f"/dashboard/chart/{name}/", PERIOD).content.decode()
    for row in chart.rows[:3]:
        assert f'<th scope="row">{row[0]}</th>' in page.replace("&#x27;", "'")


def test_the_funnel_csv_has_the_hand_computed_counts(client, portfolio, executive):
    client.force_login(executive)
    rows = read_csv(client.get("/dashboard/chart/funnel.csv", PERIOD))
    assert rows == [
        ["Stage", "Relationships", "Share of active (%)"],
        ["Identify", "1", "20.0"],
        ["Present", "0", "0.0"],
        ["Pilot", "1", "20.0"],
        ["Build", "2", "40.0"],
        ["Review", "1", "20.0"],
    ]


def test_a_managers_csv_leaves_out_what_they_may_not_see(client, portfolio, manager_b):
    client.force_login(manager_b)
    rows = read_csv(client.get("/dashboard/chart/funnel.csv", PERIOD))
    assert rows[4] == ["Build", "1", "25.0"]  # not team A's confidential r2
    page = client.get("/dashboard/", PERIOD).content.decode()
    assert "only the relationships you may see" in page
    assert "Birch Housing" not in client.get("/dashboard/chart/map/", PERIOD).content.decode()


def test_an_unknown_chart_is_a_404(client, executive):
    client.force_login(executive)
    assert client.get("/dashboard/chart/nope.csv").status_code == 404
    assert client.get("/dashboard/chart/nope/").status_code == 404


def test_a_chart_page_answers_htmx_with_the_panel(client, portfolio, executive):
    client.force_login(executive)
    response = client.get("/dashboard/chart/map/", PERIOD, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<figure class="card card-body chart')
    assert "Alder Trust" in html and "<nav" not in html
    full = client.get("/dashboard/chart/weekly/", PERIOD).content.decode()
    assert "<nav" in full and "Interactions logged per person per week" in full


def test_the_print_view_has_every_chart_and_no_navigation(client, portfolio, executive):
    client.force_login(executive)
    response = client.get("/dashboard/", {**PERIOD, "print": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<nav" not in html
    assert "dashboard/print.css" in html
    assert html.count('class="chart-svg"') == 8  # the deferred charts are drawn inline here
    assert "hx-get" not in html


def test_the_print_stylesheet_is_a4_landscape():
    from django.contrib.staticfiles import finders

    path = finders.find("dashboard/print.css")
    with open(path) as stylesheet:
        assert "size: A4 landscape" in stylesheet.read()


def test_the_page_needs_a_sign_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_no_inline_script_or_style_attribute(client, portfolio, executive):
    client.force_login(executive)
    html = client.get("/dashboard/", {**PERIOD, "print": "1"}).content.decode()
    assert "style=" not in html and "<script>" not in html and " onclick" not in html


# --- Query counts ---------------------------------------------------------------------


def _records(n: int, team, manager) -> None:
    for i in range(n):
        stakeholder = StakeholderFactory(power=1 + i % 5, interest=1 + (i * 3) % 5)
        relationship = RelationshipFactory(
            stakeholder=stakeholder,
            team=team,
            manager=manager,
            stage=["identify", "pilot", "build", "ended"][i % 4],
            is_key=i % 3 == 0,
            health_score=(i * 7) % 100,
        )
        InteractionFactory(relationship=relationship, created_by=manager)
        ValueRecordFactory(relationship=relationship)


# After a colleague logs an interaction (the common write), the page reads the tallies and
# the few figures an interaction moves; the rest stay cached under their topics
# (dashboard.figurecache). After a write that touches every topic, all are computed again.
DASHBOARD_QUERY_CAP = 12
DASHBOARD_ALL_STALE_QUERY_CAP = 22
# The map for a viewer who does not read everything adds the value of their own
# confidential slices: one query more than the executive's 6.
CHART_QUERY_CAP = 7
PRINT_QUERY_CAP = 26  # the A4 view draws every chart at once, the lazy ones included


@pytest.mark.parametrize("n", [10, 50])
@pytest.mark.parametrize("persona", ["executive", "manager_b"])
def test_the_dashboard_query_count_does_not_grow_with_records(
    client,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
    team_b,
    manager_b,
    executive,
    persona,
    n,
):
    _records(n, team_b, manager_b)
    user = {"executive": executive, "manager_b": manager_b}[persona]
    client.force_login(user)
    # Warm: reference choices, team ids and the cascade come from the cache after the first
    # request (as the benchmark measures); a cold first request costs a few more.
    assert client.get("/dashboard/", {"team": team_b.pk}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(
            relationship=Relationship.objects.filter(team=team_b, stage__in=ACTIVE_STAGES).first(),
            by=manager_b,
            occurred_on=date.today(),
            channel="call",
            summary="A colleague's call",
        )
    with django_assert_max_num_queries(DASHBOARD_QUERY_CAP):
        assert client.get("/dashboard/", {"team": team_b.pk}).status_code == 200
    figurecache.bump(figurecache.TOPIC_VERBS)  # every cached figure is computed again
    with django_assert_max_num_queries(DASHBOARD_ALL_STALE_QUERY_CAP):
        assert client.get("/dashboard/", {"team": team_b.pk}).status_code == 200
    for name in ("map", "weekly"):
        with django_assert_max_num_queries(CHART_QUERY_CAP):
            assert client.get(f"/dashboard/chart/{name}/").status_code == 200
    figurecache.bump(figurecache.TOPIC_VERBS)
    with django_assert_max_num_queries(PRINT_QUERY_CAP):
        assert client.get("/dashboard/", {"print": "1"}).status_code == 200

"""The executive dashboard, its chart CSVs and print view, and the manager's home.

Thin views: the filter form parses the query string, dashboard.selectors computes the
figures (scoped to what the viewer may see), dashboard.charts draws them.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from accounts import permissions
from core.csvio import csv_response
from core.dbrouting import report_read
from dashboard import charts, selectors
from dashboard.forms import DashboardFilterForm
from security.services import export_detail, security_event_record


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _vary(response: HttpResponseBase) -> HttpResponseBase:
    patch_vary_headers(response, ["HX-Request"])
    return response


def _form(request: HttpRequest) -> DashboardFilterForm:
    return DashboardFilterForm(request.GET, today=timezone.localdate())


def _csv_url(name: str, query: str) -> str:
    return f"{reverse('dashboard:chart_csv', args=[name])}?{query}"


@report_read
@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    """The dashboard; ``?print=1`` renders the same figures laid out for A4 landscape."""
    form = _form(request)
    filters = form.filters()
    printing = bool(request.GET.get("print"))
    # The two heaviest figures load after the page (HTMX); printing needs everything now.
    skip = frozenset() if printing else selectors.DEFERRED
    figures = selectors.dashboard_figures(request.user, filters, skip=skip)
    query = filters.query
    for manager in figures["key_load"]["managers"]:
        manager["url"] = charts.list_url(filters, manager=manager["manager_id"])
    context = {
        "form": form,
        "filters": filters,
        "figures": figures,
        "charts": charts.build_all(figures, filters, lambda name: _csv_url(name, query)),
        "deferred": {
            name: {
                "title": charts.TITLES[name],
                "url": f"{reverse('dashboard:chart', args=[name])}?{query}",
            }
            for name in skip
        },
        "links": charts.figure_links(filters),
        "rules": {
            "retention": selectors.RETENTION_RULE,
            "adoption": selectors.ADOPTION_RULE.format(quiet_days=selectors.quiet_days()),
        },
        "sees_everything": permissions.reads_everything(request.user),
        "print_url": f"{reverse('dashboard:index')}?{query}&print=1",
    }
    if printing:
        return _vary(render(request, "dashboard/print.html", context))
    template = "dashboard/index.html"
    if request.htmx and not request.htmx.boosted:
        template += "#figures"
    return _vary(render(request, template, context))


def _chart(request: HttpRequest, name: str):
    if name not in charts.CHARTS:
        raise Http404("No such chart")
    filters = _form(request).filters()
    builder = charts.CHARTS[name][0]
    chart = builder(charts.figures_for(name, request.user, filters), filters)
    chart.csv_url = _csv_url(name, filters.query)
    return filters, chart


@report_read
@require_GET
def chart(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """One chart on its own page, or as the fragment the dashboard loads after answering."""
    filters, chart = _chart(request, name)
    template = "dashboard/chart.html"
    if request.htmx and not request.htmx.boosted:
        template += "#panel"
    return _vary(render(request, template, {"chart": chart, "filters": filters}))


@report_read
@require_GET
def chart_csv(request: HttpRequest, name: str) -> HttpResponseBase:
    """One chart's data (the same rows as its table) for the same filters."""
    filters, chart = _chart(request, name)
    filename = f"rapport-{name}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    security_event_record(
        kind="export",
        request=request,
        detail=export_detail(filename, request=request, rows=len(chart.rows)),
    )
    return csv_response(filename, chart.header, chart.rows)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Where a relationship manager starts the day."""
    user = request.user
    today = timezone.localdate()
    overview = selectors.home_overview(user, today)
    for relationship in overview["relationships"]:
        relationship.may_change = permissions.may_change_relationship(user, relationship)
    return render(
        request,
        "dashboard/home.html",
        {
            "overview": overview,
            "today": today,
            "sees_everything": permissions.reads_everything(user),
        },
    )

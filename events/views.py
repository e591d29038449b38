"""The activity feeds: what I did, what changed across the organisation, and the full feed
of one relationship or stakeholder (their pages show the newest entries and link here).

Each page is one template whose ``feed`` partial holds a page of entries and the "Older"
link; with HTMX that link fetches the partial and swaps itself for it ("load more"), as a
plain link it opens the next page. Responses differ by HX-Request, so they say so (Vary).
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from accounts import permissions
from events import selectors
from events.forms import ActivityFilterForm
from relationships.selectors import get_relationship_for
from stakeholders.selectors import get_stakeholder_for


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _page(events, before: str | None) -> selectors.FeedPage:
    try:
        return selectors.feed_page(events, before=before or None)
    except selectors.BadCursor as error:
        raise BadRequest(str(error)) from None


def _older_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query["before"] = cursor
    return f"{request.path}?{query.urlencode()}"


def _render(request: HtmxHttpRequest, template: str, context: dict) -> HttpResponse:
    feed = context["feed"]
    context["older_url"] = _older_url(request, feed.older)
    name = f"{template}#feed" if request.htmx and not request.htmx.boosted else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def mine(request: HtmxHttpRequest) -> HttpResponse:
    feed = _page(selectors.person_feed(request.user), request.GET.get("before"))
    context = {"feed": feed, "title": "My activity", "show_subject": True}
    return _render(request, "events/feed.html", context)


@require_GET
def relationship(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    found = get_relationship_for(request.user, pk)
    feed = _page(selectors.relationship_feed(request.user, found), request.GET.get("before"))
    context = {"feed": feed, "title": f"Activity: {found}", "about": found, "show_subject": False}
    return _render(request, "events/feed.html", context)


@require_GET
def stakeholder(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    found = get_stakeholder_for(request.user, pk)
    feed = _page(selectors.stakeholder_feed(request.user, found), request.GET.get("before"))
    context = {"feed": feed, "title": f"Activity: {found}", "about": found, "show_subject": True}
    return _render(request, "events/feed.html", context)


@require_GET
def organisation(request: HtmxHttpRequest) -> HttpResponse:
    """What changed: everything the user may see, filtered by verb, team, person and dates.
    Bad filters answer 400 with the form's messages beside the fields (never a 500)."""
    if not permissions.may_see_organisation_feed(request.user):
        raise PermissionDenied("The organisation's activity is for managers and executives.")
    form = ActivityFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        empty = selectors.FeedPage([], None)
        context = {"form": form, "feed": empty, "show_subject": True}
        response = _render(request, "events/activity.html", context)
        response.status_code = 400
        return response
    data = form.cleaned_data if form.is_bound else {}
    since, until = form.bounds() if form.is_bound else (None, None)
    events = selectors.organisation_feed(
        request.user,
        verbs=data.get("verb") or (),
        team_id=data["team"].pk if data.get("team") else None,
        actor_id=data["actor"].pk if data.get("actor") else None,
        since=since,
        until=until,
    )
    feed = _page(events, data.get("before"))
    context = {"form": form, "feed": feed, "show_subject": True}
    return _render(request, "events/activity.html", context)

"""The notifications page, the nav badge fragment, mark read, preferences.

Every HTMX interaction is also a plain form post that redirects back, so the page works
without JavaScript. Changes send ``HX-Trigger: notifications-changed`` so the nav badge
refreshes at once instead of at its next poll.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from notifications import selectors, services
from notifications.forms import PreferenceForm

PAGE_SIZE = 25
CHANGED_EVENT = "notifications-changed"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("notifications:index")


def _page_context(request: HttpRequest) -> dict:
    page = Paginator(selectors.notifications_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {"page": page, "unread": selectors.unread_count(request.user)}


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    template = "notifications/index.html"
    if request.htmx and not request.htmx.boosted:
        template += "#inbox"
    response = render(request, template, _page_context(request))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    """The nav badge's content: polled by base.html (hx-get, every 60 s and on change)."""
    response = render(
        request,
        "notifications/index.html#badge",
        {"unread": selectors.unread_count(request.user)},
    )
    add_never_cache_headers(response)
    return response


@require_POST
def mark_read(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    notification = selectors.get_notification_for(request.user, pk)
    services.notification_mark_read(notification=notification, by=request.user)
    if request.htmx:
        response = render(request, "notifications/index.html#item", {"n": notification})
        return trigger_client_event(response, CHANGED_EVENT)
    return _back(request)


@require_POST
def mark_all_read(request: HtmxHttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(by=request.user)
    if request.htmx:
        response = render(request, "notifications/index.html#inbox", _page_context(request))
        return trigger_client_event(response, CHANGED_EVENT)
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return _back(request)


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = selectors.preference_for(request.user)
    form = PreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.preference_update(
            user=request.user,
            email_enabled=form.cleaned_data["email_enabled"],
            digest_enabled=form.cleaned_data["digest_enabled"],
            by=request.user,
        )
        messages.success(request, "Your notification preferences are saved.")
        return redirect(reverse("notifications:preferences"))
    return render(request, "notifications/preferences.html", {"form": form})

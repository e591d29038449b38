"""The webhooks pages (admins only; anyone else gets a 404): endpoints, their secret shown
once, and each endpoint's delivery log with a "send again" button.

Thin views over webhooks.services and webhooks.selectors. Every HTMX interaction is also a
plain form post or link, so the pages work without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from accounts import permissions
from core.errors import RuleViolation
from webhooks import selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import EventType


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _require_admin(request: HttpRequest) -> None:
    # 404, not 403: the page's existence is nobody else's business.
    if not permissions.is_admin(request.user):
        raise Http404("No such page")


def _add_rule_error(form: EndpointForm, error: RuleViolation) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _secret_page(request: HttpRequest, endpoint, created: bool) -> HttpResponse:
    response = render(request, "webhooks/secret.html", {"endpoint": endpoint, "created": created})
    add_never_cache_headers(response)  # the secret must not linger in a cache
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(
        request,
        "webhooks/index.html",
        {
            "endpoints": selectors.endpoints_overview(request.user),
            "event_types": EventType.choices,
            "schedule": services.retry_schedule(),
            "max_attempts": services.max_attempts(),
            "disable_after": services.disable_after(),
        },
    )


@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(by=request.user, **form.cleaned_data)
        except RuleViolation as error:
            _add_rule_error(form, error)
        else:
            return _secret_page(request, endpoint, created=True)
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = selectors.get_endpoint_for(request.user, pk)
    form = EndpointForm.for_endpoint(endpoint, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, by=request.user, **form.cleaned_data)
        except RuleViolation as error:
            _add_rule_error(form, error)
        else:
            messages.success(request, "Webhook endpoint saved.")
            return redirect(endpoint.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(
        request, "webhooks/form.html", {"form": form, "endpoint": endpoint}, status=status
    )


@require_POST
def rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = selectors.get_endpoint_for(request.user, pk)
    endpoint = services.endpoint_rotate_secret(endpoint=endpoint, by=request.user)
    return _secret_page(request, endpoint, created=False)


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = selectors.get_endpoint_for(request.user, pk)
    services.endpoint_delete(endpoint=endpoint, by=request.user)
    messages.success(request, f"Webhook endpoint {endpoint.url} deleted with its log.")
    return redirect("webhooks:index")


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The endpoint and its delivery log; HTMX refreshes just the log."""
    _require_admin(request)
    endpoint = selectors.get_endpoint_for(request.user, pk)
    template = "webhooks/detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#log"
    response = render(
        request,
        template,
        {"endpoint": endpoint, "deliveries": selectors.delivery_log(endpoint)},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def redeliver(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    delivery = selectors.get_delivery_for(request.user, pk)
    try:
        delivery = services.delivery_redeliver(delivery=delivery, by=request.user)
    except RuleViolation as error:
        if request.htmx:
            return HttpResponse(error.message, status=400)
        messages.error(request, error.message)
    else:
        if request.htmx:
            return render(request, "webhooks/detail.html#row", {"delivery": delivery})
        messages.success(request, "Queued to be sent again.")
    return redirect(delivery.endpoint.get_absolute_url())

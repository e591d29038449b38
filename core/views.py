from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health
from core.search import search_everything


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status=200 if healthy else 503,
    )


def search(request: HttpRequest) -> HttpResponse:
    results = search_everything(request.user, request.GET.get("q", ""))
    template = "core/search.html#results" if request.htmx else "core/search.html"
    response = render(request, template, {"results": results})
    patch_vary_headers(response, ["HX-Request"])
    return response

"""Benchmark-only hooks, installed when RAPPORT_BENCH is set (never in normal deployments).

- QueryCountMiddleware adds ``X-Query-Count`` to every response: the SQL queries the
  request ran, so `make bench` reports queries per page from the real server.
- ``floor`` is a view doing no database work, measured as the floor of the server's latency.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, HttpResponse


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response


@login_not_required
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")

"""The security log page (admins only; anyone else gets a 404) and "sign out my other
sessions" on the profile page. Thin views over security.selectors and security.services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from core.csvio import csv_response
from security.forms import SecurityLogFilterForm
from security.models import SecurityEvent
from security.selectors import security_events_filtered
from security.services import security_event_record, user_sessions_end

PAGE_SIZE = 50


def _require_log_reader(request: HttpRequest) -> None:
    # 404, not 403: the page's existence is nobody else's business.
    if not permissions.may_see_security_log(request.user):
        raise Http404("No such page")


def _filtered(request: HttpRequest) -> tuple[SecurityLogFilterForm, object]:
    form = SecurityLogFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, security_events_filtered(**form.cleaned_data)


@require_GET
def log(request: HttpRequest) -> HttpResponse:
    _require_log_reader(request)
    form, events = _filtered(request)
    page = None
    if events is not None:
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    context = {
        "form": form,
        "page": page,
        "query": urlencode(query),
        "retention_days": settings.SECURITY_LOG_RETENTION_DAYS,
    }
    # Bad filters answer 400 with the form's messages, never a 500 or a silently wrong list.
    return render(request, "security/log.html", context, status=200 if page is not None else 400)


@require_GET
def log_export(request: HttpRequest) -> HttpResponseBase:
    _require_log_reader(request)
    form, events = _filtered(request)
    if events is None:
        return render(request, "security/log.html", {"form": form, "page": None}, status=400)
    filename = f"security-log-{timezone.localdate().isoformat()}.csv"
    filters = ", ".join(f"{k}={v}" for k, v in form.cleaned_data.items() if v)
    security_event_record(
        kind=SecurityEvent.Kind.EXPORT,
        request=request,
        detail=f"export {filename}" + (f" ({filters})" if filters else ""),
    )
    header = ["time", "kind", "user", "ip_address", "path", "user_agent", "detail"]
    rows = (
        [
            timezone.localtime(e.created_at).isoformat(timespec="seconds"),
            e.kind,
            e.username,
            e.ip_address or "",
            e.path,
            e.user_agent,
            e.detail,
        ]
        for e in events.iterator(chunk_size=2000)
    )
    return csv_response(filename, header, rows)


@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    """Sign out every other session of the signed-in user, keeping this one."""
    ended = user_sessions_end(user=request.user, keep_session_key=request.session.session_key)
    security_event_record(
        kind=SecurityEvent.Kind.LOGOUT,
        request=request,
        detail=f"signed out {ended} other session{'' if ended == 1 else 's'}",
    )
    if ended:
        messages.success(
            request, f"Signed out of {ended} other session{'' if ended == 1 else 's'}."
        )
    else:
        messages.info(request, "You had no other sessions.")
    return redirect("profile")

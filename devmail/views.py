"""Sent e-mails (development): the list, newest first, and one message."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from devmail.selectors import get_sent_email_for, sent_emails_for

PAGE_SIZE = 25


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    page = Paginator(sent_emails_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "devmail/index.html", {"page": page})


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_sent_email_for(request.user, pk)
    return render(request, "devmail/detail.html", {"email": email})

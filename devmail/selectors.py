"""Reading the kept e-mails: admins only, and only where they are kept (DEV_MAIL)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from accounts import permissions
from devmail.models import SentEmail


def may_read_sent_emails(user) -> bool:
    """Admins, in development: the messages carry other people's sign-in and survey links."""
    return bool(settings.DEV_MAIL) and permissions.is_admin(user)


def sent_emails_for(user) -> QuerySet[SentEmail]:
    """Newest first, without the long columns the list never shows. 404 for anyone else:
    the page's existence is nobody else's business (and in production there is none)."""
    if not may_read_sent_emails(user):
        raise Http404("No such page")
    return SentEmail.objects.only("pk", "sent_at", "to", "subject").order_by("-sent_at", "-pk")


def get_sent_email_for(user, pk: int) -> SentEmail:
    if not may_read_sent_emails(user):
        raise Http404("No such page")
    try:
        return SentEmail.objects.get(pk=pk)
    except SentEmail.DoesNotExist:
        raise Http404("No such e-mail") from None

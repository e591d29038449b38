"""The development e-mail backend: each message is kept in the database for admins to read
at /dev/mail/ (settings.DEV_MAIL), instead of being printed to whichever console the web
server or the Celery worker happens to write to. Production never uses it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from devmail.services import sent_email_record

log = logging.getLogger("devmail")


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        kept = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                stored = sent_email_record(message=message)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            kept += 1
            # One line where the sender runs, so a developer watching the logs sees it go.
            log.info(
                "E-mail to %s kept, not sent: %r. Admins read it at %s",
                ", ".join(message.recipients()),
                stored.subject,
                settings.SITE_URL + reverse("devmail:detail", args=[stored.pk]),
            )
        return kept

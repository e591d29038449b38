from __future__ import annotations

from django.db import models
from django.utils import timezone


class SentEmail(models.Model):
    """One e-mail the app sent in development (``settings.DEV_MAIL``), kept instead of
    delivered so that an admin can read it in the app: survey links, digests, password
    resets. The web server and the Celery worker write here alike."""

    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    from_email = models.TextField()
    to = models.TextField(help_text="The To recipients, comma-separated.")
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)  # file names only
    source = models.TextField(help_text="The whole message as it would have gone out.")

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

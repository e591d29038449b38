"""Keeping a sent e-mail (the development mail backend's one write)."""

from __future__ import annotations

from django.core.mail import EmailMessage

from devmail.models import SentEmail

# Enough to read a few days of digests and survey links; older ones are dropped.
KEEP = 500


def sent_email_record(*, message: EmailMessage) -> SentEmail:
    """Store ``message`` as it would have been sent and drop all but the newest KEEP."""
    html = next(
        (
            content
            for content, mimetype in getattr(message, "alternatives", [])
            if mimetype == "text/html"
        ),
        "",
    )
    if not html and message.content_subtype == "html":
        html, text = message.body, ""
    else:
        text = message.body
    stored = SentEmail.objects.create(
        from_email=message.from_email or "",
        to=", ".join(message.to),
        cc=", ".join(message.cc),
        bcc=", ".join(message.bcc),
        reply_to=", ".join(message.reply_to),
        subject=message.subject or "",
        body=text or "",
        html_body=html or "",
        attachments=[_attachment_name(a) for a in message.attachments],
        source=message.message().as_string(),
    )
    oldest_kept = SentEmail.objects.order_by("-pk").values_list("pk", flat=True)[KEEP - 1 : KEEP]
    SentEmail.objects.filter(pk__lt=oldest_kept).delete()
    return stored


def _attachment_name(attachment) -> str:
    # (filename, content, mimetype) tuples, or MIMEBase parts added with attach().
    if isinstance(attachment, tuple):
        return attachment[0] or "(unnamed)"
    return attachment.get_filename() or "(unnamed)"

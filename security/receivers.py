"""Sign-ins, sign-outs, failures and lockouts go to the security log as they happen."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from security.lockout import cooloff_words, sign_in_failure_counted, username_for_records
from security.models import SecurityEvent
from security.services import security_event_record, user_session_forget, user_session_start

Kind = SecurityEvent.Kind


@receiver(user_logged_in, dispatch_uid="security_logged_in")
def logged_in(sender, request, user, **kwargs) -> None:
    user_session_start(request=request, user=user)
    security_event_record(kind=Kind.LOGIN, request=request, actor=user)


@receiver(user_logged_out, dispatch_uid="security_logged_out")
def logged_out(sender, request, user, **kwargs) -> None:
    # Sent before the session is flushed: its key still names the row to remove.
    if request is not None:
        user_session_forget(session_key=request.session.session_key)
    if user is not None:
        security_event_record(kind=Kind.LOGOUT, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    # Django has already masked the password in ``credentials``; the username is kept only
    # when it names an account (people type passwords into that field).
    username = username_for_records(request, credentials)
    security_event_record(kind=Kind.LOGIN_FAILED, request=request, username=username)
    if request is not None:
        sign_in_failure_counted(request=request, username=username)


@receiver(user_locked_out, dispatch_uid="security_locked_out")
def locked_out(sender, request, username, ip_address, **kwargs) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    detail = f"sign-in locked for {cooloff_words()}"
    if failures:
        detail = f"{failures} failed sign-ins; {detail}"
    security_event_record(
        kind=Kind.LOCKOUT, request=request, username=str(username or ""), detail=detail
    )

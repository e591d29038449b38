"""What happened to accounts and access: the security log, and who is signed in where."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SecurityEvent(models.Model):
    """One security-relevant thing that happened. Never holds a secret: no password, raw
    token, one-time code or session key, only what identifies them (a token's prefix)."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOGOUT = "logout", "Signed out"
        LOCKOUT = "lockout", "Locked out"
        PERMISSION_DENIED = "permission_denied", "Permission denied"
        EXPORT = "export", "Export"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        ROLE_CHANGED = "role_changed", "Role changed"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        USER_REACTIVATED = "user_reactivated", "User reactivated"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        EMAIL_CHANGED = "email_changed", "E-mail address changed"
        TWO_FACTOR_ENABLED = "two_factor_enabled", "Two-factor enabled"
        TWO_FACTOR_DISABLED = "two_factor_disabled", "Two-factor disabled"
        TWO_FACTOR_FAILED = "two_factor_failed", "Two-factor code refused"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        SESSION_EXPIRED = "session_expired", "Session expired"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    # The name as typed, kept even when no such user exists (failed sign-ins, resets).
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="security_kind_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"


class UserSession(models.Model):
    """A signed-in session of a user, so their sessions can be listed and ended without
    decoding every row of the session store. Written at sign-in, removed at sign-out."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    # The session store's key: a bearer credential, so it is never shown or logged.
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def device(self) -> str:
        """“Firefox on Windows”: enough to recognise a session, from the user agent."""
        agent = self.user_agent
        browser = next((name for token, name in _BROWSERS if token in agent), "")
        system = next((name for token, name in _SYSTEMS if token in agent), "")
        if browser and system:
            return f"{browser} on {system}"
        return browser or system or "Unknown device"


# Checked in order: Edge and Opera agents also say Chrome, Chrome's also says Safari.
_BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]

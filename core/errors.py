"""Errors every app's services raise; views and the API turn them into messages and codes."""

from __future__ import annotations


class RuleViolation(Exception):
    """A business rule refused the write; nothing was saved. ``code`` is stable for API
    clients, ``field`` names the input at fault when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class PermissionRefused(RuleViolation):
    def __init__(self, message: str = "You may not change this record."):
        super().__init__("permission_denied", message)


class ConcurrencyConflict(Exception):
    """Someone saved the record after the caller loaded it; nothing was overwritten."""

    code = "conflict"

    def __init__(self, current, changed_by: str, changes: list[str] | None = None):
        self.current = current
        self.changed_by = changed_by
        self.changes = changes or []
        detail = f" ({'; '.join(self.changes)})" if self.changes else ""
        self.message = (
            f"{changed_by} changed this record while you were editing{detail}. Your changes "
            "were not saved: review theirs and apply yours again."
        )
        super().__init__(self.message)


class InputRefused(Exception):
    """The request itself is unusable, whatever the view: a NUL character (PostgreSQL text
    cannot hold one), a body too large or nested too deep. Answered before any view acts on
    it, with ``status`` (400 or 413) and the API's {code, detail, field} body; pages show
    ``message`` on the 400 page."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def as_body(self) -> dict:
        body = {"code": self.code, "detail": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def printable(name: str) -> str:
    """A parameter or field name fit for a message: a NUL in it shown as ``\\x00``."""
    return name.replace("\x00", "\\x00")


def nul_in(field: str | None, where: str) -> InputRefused:
    """A NUL character in ``field`` (a query parameter, form field or JSON key path)."""
    if field is None:
        message = f"The {where} contains a NUL character (\\x00), which cannot be stored."
    else:
        message = (
            f"The {where} “{printable(field)}” contains a NUL character (\\x00), which cannot "
            "be stored: remove it and try again."
        )
    return InputRefused(
        "nul_character", message, field=printable(field) if field is not None else None
    )


def body_too_large(limit: int) -> InputRefused:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (file uploads are not counted)."""
    if limit >= 1024 * 1024:
        size = f"{limit / (1024 * 1024):g} MB ({limit:,} bytes)"
    elif limit >= 1024:
        size = f"{limit / 1024:g} KB ({limit:,} bytes)"
    else:
        size = f"{limit:,} bytes"
    return InputRefused(
        "too_large",
        f"The request is too large: the limit is {size}, files not counted. Send less at a time.",
        status=413,
    )

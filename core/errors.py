"""Errors every app's services raise; views and the API turn them into messages and codes."""

from __future__ import annotations


def error_body(
    code: str, detail: str, field: str | None = None, problems: list[dict] | None = None
) -> dict:
    """The API's one error shape (``ApiError`` in the OpenAPI document), whatever answers:
    a view, DRF, a middleware or an error handler. ``code`` is stable, ``detail`` is for
    people, ``field`` names the input at fault (or is null) and ``problems`` lists every
    problem as ``{code, detail, field}`` — never empty: a single refusal is its own one
    problem, so a client can always read ``problems`` alone."""
    return {
        "code": code,
        "detail": detail,
        "field": field,
        "problems": problems or [{"code": code, "detail": detail, "field": field}],
    }


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
    it, with ``status`` (400 or 413) and the API's error body (error_body); pages show
    ``message`` on the 400 page."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def as_body(self) -> dict:
        return error_body(self.code, self.message, self.field)


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

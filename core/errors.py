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

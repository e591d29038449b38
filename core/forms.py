"""Form pieces every app shares."""

from __future__ import annotations

from django import forms

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """``<input type="date">`` always holds an ISO date (2026-12-04), whatever the locale:
    a browser drops any other value (en-gb's 04/12/2026 left the field blank)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None, format: str | None = None) -> None:
        super().__init__(attrs, format or ISO_DATE)

"""How long free text may be: the one place the web forms, the API's serializers and the
services read it from, so that text one door accepts every door accepts (the quick-log once
stored an 11,427-character summary the API refused).

Text columns (TextField) have no limit in the database: LONG_TEXT keeps a pasted document out
of a summary, a note or a description. Columns with a length (CharField) are limited by their
own ``max_length``, which Django's forms read from the model and the API's serializers repeat
(tests/api/test_text_limits.py holds every form and serializer to the model and to these)."""

from __future__ import annotations

from core.errors import RuleViolation

LONG_TEXT = 10_000  # summaries, notes, descriptions, reasons
FEEDBACK_MESSAGE = 2_000  # the personal note above a stakeholder survey's questions


def length_problem(
    value: str | None, *, field: str, limit: int = LONG_TEXT
) -> RuleViolation | None:
    """The refusal of text longer than ``limit`` (surrounding whitespace, which every door
    strips, not counted), naming ``field`` with the code the API's serializers give the same
    mistake (``max_length``); None when it fits."""
    length = len(value.strip()) if value else 0
    if length <= limit:
        return None
    return RuleViolation(
        "max_length", f"Keep this to {limit:,} characters or fewer (it has {length:,}).", field
    )


def check_length(value: str | None, *, field: str, limit: int = LONG_TEXT) -> None:
    """Refuse text longer than ``limit`` (length_problem). Services call it for every
    free-text input, so the admin, imports and tasks are held to the limit the forms and the
    API show."""
    problem = length_problem(value, field=field, limit=limit)
    if problem is not None:
        raise problem

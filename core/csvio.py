"""CSV downloads shared by every list: streamed, spreadsheet-safe, one header row.

Every export goes through ``csv_response``; nothing else writes CSV. Two defences, because
the file may be opened by a spreadsheet set to any locale's separator:

- every cell is quoted (QUOTE_ALL), so a reader splitting on ``,`` ``;`` tab or ``|`` keeps a
  cell holding one of them, or a line break, or a quote, whole when the cell starts a field;
- a cell that would start a formula gets a leading ``'`` (read as text), and so does any
  part of a cell after a separator or line break: a reader using another separator than
  ours does not see our quotes mid-line, splits ``a;=1+1`` there and would run ``=1+1``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

# What a spreadsheet may take as the end of a cell: the separator of any common locale
# (comma, semicolon, tab, pipe) or a line break.
_CELL_BREAK = re.compile(r"([,;\t|\r\n])")
# A formula: one of = + - @ first, after any spaces or double quotes a reader drops.
_FORMULA = re.compile(r'[\s"]*[=+\-@]')
# A plain number (-5, +3.2, 1e6) is left alone, though it starts with - or +.
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def spreadsheet_safe(value) -> str:
    """The cell's text, with a ``'`` before every part a spreadsheet could run as a formula."""
    text = "" if value is None else str(value)
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(("\t", "\r")):  # some programs read a leading tab or CR as a formula
        text = "'" + text
    # The split keeps the separators at the odd indexes; each part between them may begin
    # a cell for some reader.
    parts = _CELL_BREAK.split(text)
    for i in range(0, len(parts), 2):
        if _FORMULA.match(parts[i]) and not _NUMBER.fullmatch(parts[i]):
            parts[i] = "'" + parts[i]
    return "".join(parts)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence]
) -> StreamingHttpResponse:
    """Stream rows as a CSV attachment (large exports never sit in memory)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)

    def lines():
        yield "\ufeff"  # BOM: spreadsheet programs then read UTF-8 correctly
        yield writer.writerow([spreadsheet_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

"""CSV imports: check every row, then create all rows or none.

The framework (``Importer`` + ``run_import``) is shared: relationships.imports builds on it.
An importer declares its columns, validates one row with a plain Django form (so the
column names are the form's field names and errors come out per column), resolves names to
records from lookups loaded once, and creates each row through the app's service.

Every problem of every row is reported in one pass: a cell the form refuses does not stop
the look-ups of the other cells (a bad e-mail does not hide an unknown category), and the
rows that pass are created through the service inside a transaction that is rolled back
unless every row passed and this is not a dry run, so the service's own rules are reported
by the preview too and nothing is ever half-saved.

The file may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark
(spreadsheets' "Unicode text") or, failing UTF-8, Windows-1252 (what spreadsheets on
Western-European Windows save as "CSV"); cells are separated by commas, semicolons
(spreadsheets where the decimal mark is a comma) or tabs, told apart by the header.
``ImportReport.file_format`` says what was read, and the page shows it.

Row numbers are spreadsheet rows: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import RuleViolation
from events.services import event_record
from stakeholders import services
from stakeholders.forms import website_field
from stakeholders.models import (
    PUBLIC_EMAIL_DOMAINS,
    Category,
    Contact,
    Stakeholder,
    Value,
    email_domain,
    normalise_name,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# PostgreSQL text cannot hold a NUL character: a cell with one is refused where it is.
NUL_IN_CELL = "This cell contains a NUL character (\\x00), which cannot be stored: remove it."


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    column: str
    message: str


DELIMITERS = {",": "commas (,)", ";": "semicolons (;)", "\t": "tabs"}


@dataclass(frozen=True)
class FileFormat:
    """How the file was read: shown with the preview so a wrong guess is seen."""

    encoding: str  # as people know it: "UTF-8", "UTF-16", "Windows-1252"
    bom: bool = False
    delimiter: str = ","
    # Windows-1252 only: the line holding the first byte that is not UTF-8.
    not_utf8_line: int | None = None

    @property
    def usual(self) -> bool:
        """Plain UTF-8 with commas, as the page asks for: nothing worth saying."""
        return self.encoding == "UTF-8" and not self.bom and self.delimiter == ","

    def describe(self) -> str:
        bom = " with a byte-order mark (BOM)" if self.bom else ""
        text = f"Read as {self.encoding}{bom}, cells separated by {DELIMITERS[self.delimiter]}."
        if self.not_utf8_line is not None:
            text += (
                f" The file is not UTF-8 (line {self.not_utf8_line} is the first that is not), "
                "so it was read as Windows-1252 (Western European): if accented letters come "
                "out wrong, save it as “CSV UTF-8” in your spreadsheet and upload it again."
            )
        return text


@dataclass
class ImportReport:
    kind: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_format: FileFormat | None = None  # None when the file could not be decoded

    @property
    def ok(self) -> bool:
        return not self.errors


class FileRefused(Exception):
    """The file as a whole cannot be read: wrong type, encoding, size, header…"""


class _Rollback(Exception):
    pass


# --- Row-level field types ------------------------------------------------------------

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


class CsvBooleanField(forms.Field):
    """true/false, yes/no, 1/0 (any case); blank is false."""

    def to_python(self, value):
        text = (value or "").strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(f"“{value}” is not a yes/no value: use true/false, yes/no or 1/0.")

    def validate(self, value):  # False is a valid answer, not a missing one
        pass


# --- Framework ------------------------------------------------------------------------


class Importer:
    """One kind of row. Subclasses set ``kind``, ``columns`` and ``row_form`` and implement
    ``resolve`` (names → records, duplicates) and ``create`` (call the service)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    one: ClassVar[str]  # one row's noun: "Imported 1 organisation"
    # The event recorded once per import (each row's service records its own as well).
    event_verb: ClassVar[str]
    columns: ClassVar[dict[str, bool]]  # column name → required
    row_form: ClassVar[type[forms.Form]]

    def __init__(self, by) -> None:
        self.by = by

    def load(self) -> None:
        """Read the lookups the rows refer to, once per import (not once per row)."""

    def validate(self, data: dict[str, str], row: int) -> tuple[dict | None, list[RowError]]:
        """Every problem of the row: the form's, column by column, and then the look-ups of
        the columns the form accepted (a bad e-mail does not hide an unknown category)."""
        form = self.row_form(data)
        form.is_valid()
        errors = [
            RowError(row, column if column != "__all__" else "", str(message))
            for column, messages in form.errors.items()
            for message in messages
        ]
        cleaned = self.resolve(dict(form.cleaned_data), row, errors)
        return (None if errors else cleaned), errors

    def resolve(self, cleaned: dict[str, Any], row: int, errors: list[RowError]) -> dict:
        """Names → records, and checks across rows. A column the form refused is absent
        from ``cleaned`` (its problem is already listed): check the others all the same."""
        return cleaned

    def create(self, cleaned: dict[str, Any]) -> Any:
        raise NotImplementedError

    # Helpers for subclasses.
    @staticmethod
    def unknown(row: int, column: str, what: str, value: str) -> RowError:
        return RowError(row, column, f"Unknown {what} “{value}”.")


def _decode(upload) -> tuple[str, FileFormat]:
    name = getattr(upload, "name", "") or ""
    if not name.lower().endswith(".csv"):
        raise FileRefused("Choose a .csv file (comma-separated values).")
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise FileRefused(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it into "
            "smaller files."
        )
    upload.seek(0)
    raw = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise FileRefused(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it into "
            "smaller files."
        )
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Spreadsheets' "Unicode text": UTF-16, always with its byte-order mark.
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused(
                "The file starts as UTF-16 text but is not valid UTF-16. In your spreadsheet "
                "choose “CSV UTF-8” when saving."
            ) from None
        if not text.strip():
            raise FileRefused("The file is empty.")
        return text, FileFormat("UTF-16", bom=True)
    if not raw.strip():
        raise FileRefused("The file is empty.")
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8-sig"), FileFormat("UTF-8", bom=bom)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
    # Not UTF-8: most likely a spreadsheet's plain "CSV" on Western-European Windows. Every
    # byte but five means something in Windows-1252, so a file that is not that either is
    # refused rather than read as gibberish.
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise FileRefused(
            f"The file is not UTF-8 text (line {line} is the first that is not), nor "
            "Windows-1252. In your spreadsheet choose “CSV UTF-8” when saving."
        ) from None
    return text, FileFormat("Windows-1252", not_utf8_line=line)


def _sniff_delimiter(text: str, columns: Iterable[str]) -> str:
    """The separator that makes the most known column names of the header (then the most
    columns; commas on a tie): the header is the one line whose content is known, where a
    general sniffer would be misled by a semicolon inside a cell ("Honesty;Loyalty")."""
    known = set(columns)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        except csv.Error:
            continue
        names = [name.strip().lower() for name in header]
        score = (sum(name in known for name in names), len(names))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# One record row: its number, {column: cell} for the header's columns, and the
# non-blank cells beyond them (a row with more cells than the header has columns).
Row = tuple[int, dict[str, str], int]


class CsvFile:
    """A decoded upload whose header names the importer's columns."""

    def __init__(self, importer: Importer, upload) -> None:
        text, file_format = _decode(upload)
        delimiter = _sniff_delimiter(text, importer.columns)
        self.format = dataclasses.replace(file_format, delimiter=delimiter)
        self._reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        self.columns = self._header(importer)

    def _header(self, importer: Importer) -> list[str]:
        try:
            header = next(self._reader)
        except StopIteration:
            raise FileRefused("The file is empty.") from None
        except csv.Error as exc:
            raise FileRefused(f"The file is not valid CSV: {exc}.") from None
        if any("\x00" in name for name in header):
            # NUL characters in the header: a binary file or UTF-16 text, not a CSV cell typo.
            raise FileRefused(
                "This is not a CSV text file (it contains binary data: NUL characters in the "
                "header, row 1). In your spreadsheet choose “CSV UTF-8” when saving."
            )
        columns = [name.strip().lower() for name in header]
        while len(columns) > 1 and not columns[-1]:
            columns.pop()  # separators a spreadsheet leaves after the last column
        if not any(columns):
            raise FileRefused("The first row must be a header naming the columns.")
        expected = ", ".join(importer.columns)
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                raise FileRefused(f"The column “{name}” appears twice in the header.")
            seen.add(name)
        unknown = [name or "(blank)" for name in columns if name not in importer.columns]
        missing = [n for n, required in importer.columns.items() if required and n not in seen]
        problems = []
        if missing:
            problems.append("Missing column(s): " + ", ".join(f"“{n}”" for n in missing) + ".")
        if unknown:
            problems.append("Unknown column(s): " + ", ".join(f"“{n}”" for n in unknown) + ".")
        if problems:
            raise FileRefused(" ".join(problems) + f" The columns are: {expected}.")
        return columns

    def rows(self) -> Iterator[Row]:
        """Each non-blank record row."""
        width = len(self.columns)
        try:
            for index, cells in enumerate(self._reader, start=2):
                if not any(cell.strip() for cell in cells):
                    continue  # blank lines spreadsheets leave at the end
                extra = sum(1 for cell in cells[width:] if cell.strip())
                cells = cells[:width] + [""] * (width - len(cells))
                yield index, dict(zip(self.columns, map(str.strip, cells), strict=True)), extra
        except csv.Error as exc:
            raise FileRefused(
                f"The file is not valid CSV near row {self._reader.line_num}: {exc}."
            ) from None


def run_import(importer: Importer, upload, *, dry_run: bool = False) -> ImportReport:
    """Check every row and report every problem; create the rows, in one transaction, only
    if there is none and this is not a dry run."""
    report = ImportReport(kind=importer.kind, dry_run=dry_run)
    valid: list[tuple[int, dict]] = []
    try:
        csv_file = CsvFile(importer, upload)
        report.file_format = csv_file.format
        importer.load()
        for row, data, extra in csv_file.rows():
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise FileRefused(f"The file has more than {MAX_ROWS:,} rows: split it.")
            cleaned, errors = _check_row(importer, row, data, extra)
            report.errors.extend(errors)
            if cleaned is not None:
                valid.append((row, cleaned))
    except FileRefused as exc:
        report.errors = [RowError(None, "", str(exc))]
        return report
    if not report.errors and not report.rows:
        report.errors.append(RowError(None, "", "The file has a header but no rows."))
        return report
    _create(importer, upload, valid, report)
    # Row by row, and within a row in the file's column order (row-wide problems first).
    position = {name: index for index, name in enumerate(csv_file.columns)}
    report.errors.sort(key=lambda e: (e.row or 0, position.get(e.column, -1)))
    return report


def _check_row(
    importer: Importer, row: int, data: dict[str, str], extra: int
) -> tuple[dict | None, list[RowError]]:
    errors = []
    if extra:
        errors.append(RowError(row, "", "This row has more cells than the header has columns."))
    with_nul = [column for column, value in data.items() if "\x00" in value]
    errors.extend(RowError(row, column, NUL_IN_CELL) for column in with_nul)
    # The other cells are checked as well; a cell with NUL is checked without it, and only
    # its NUL reported.
    data = {column: value.replace("\x00", "") for column, value in data.items()}
    cleaned, found = importer.validate(data, row)
    errors.extend(error for error in found if error.column not in with_nul)
    return (None if errors else cleaned), errors


def _create(
    importer: Importer, upload, valid: list[tuple[int, dict]], report: ImportReport
) -> None:
    """Create the rows that passed, each through the service, so that its rules are
    checked too; keep them only if no row had a problem and this is not a dry run."""
    created = []
    try:
        with transaction.atomic():
            for row, cleaned in valid:
                try:
                    # A savepoint: a row the service refuses leaves nothing behind, and the
                    # rows after it are still checked.
                    with transaction.atomic():
                        created.append(importer.create(cleaned))
                except RuleViolation as exc:
                    report.errors.append(RowError(row, exc.field or "", exc.message))
                except ValidationError as exc:
                    for column, messages in _validation_messages(exc):
                        report.errors.extend(RowError(row, column, m) for m in messages)
            if report.errors or report.dry_run:
                raise _Rollback
            _record_import(importer, upload, created)
            report.created = len(created)
    except _Rollback:
        report.created = 0


def _record_import(importer: Importer, upload, created: list) -> None:
    """One event for the import as a whole. Its subject is the person who imported: an
    import is not a record of its own; the rows it created are listed by id."""
    event_record(
        verb=importer.event_verb,
        subject=importer.by,
        actor=importer.by,
        data={
            "kind": importer.kind,
            "file": (getattr(upload, "name", "") or "")[:200],
            "created": len(created),
            "ids": [record.pk for record in created],
        },
    )


def _validation_messages(exc: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        return [
            (column if column != "__all__" else "", [str(m) for e in errs for m in e.messages])
            for column, errs in exc.error_dict.items()
        ]
    return [("", list(exc.messages))]


class StakeholderLookup:
    """Stakeholders by their case- and accent-insensitive name, read once."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Stakeholder]] = {}
        for stakeholder in Stakeholder.objects.only("id", "name", "normalised_name"):
            self.by_name.setdefault(stakeholder.normalised_name, []).append(stakeholder)

    def find(self, name: str, row: int, column: str, errors: list[RowError]):
        matches = self.by_name.get(normalise_name(name), [])
        if not matches:
            errors.append(RowError(row, column, f"No stakeholder is called “{name}”."))
            return None
        if len(matches) > 1:
            errors.append(
                RowError(
                    row,
                    column,
                    f"{len(matches)} stakeholders are called “{name}”: "
                    "rename one or merge them first.",
                )
            )
            return None
        return matches[0]


# --- Organisations --------------------------------------------------------------------


class StakeholderRowForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.CharField(required=False)
    category = forms.CharField(required=False)
    sector = forms.CharField(required=False, max_length=120)
    country = forms.CharField(required=False, max_length=80)
    website = website_field()
    email = forms.EmailField(required=False)
    description = forms.CharField(required=False)
    values = forms.CharField(required=False)

    def clean_kind(self) -> str:
        text = self.cleaned_data["kind"].strip().lower()
        if not text:
            return Stakeholder.Kind.ORGANISATION
        for value, label in Stakeholder.Kind.choices:
            if text in (value, label.lower()):
                return value
        raise ValidationError(f"“{text}” is not a kind: use organisation or individual.")


class OrganisationImporter(Importer):
    kind = "organisations"
    label = "Organisations"
    one = "organisation"
    event_verb = "stakeholders.imported"
    columns = {
        "name": True,
        "kind": False,
        "category": False,
        "sector": False,
        "country": False,
        "website": False,
        "email": False,
        "description": False,
        "values": False,  # value names separated by “;”
    }
    row_form = StakeholderRowForm

    def load(self) -> None:
        self.categories = {c.name.casefold(): c for c in Category.objects.all()}
        self.values = {v.name.casefold(): v for v in Value.objects.filter(active=True)}
        self.names: dict[str, Stakeholder] = {}
        self.domains: dict[str, Stakeholder] = {}
        for stakeholder in Stakeholder.objects.only(
            "id", "name", "normalised_name", "email_domain"
        ):
            self.names.setdefault(stakeholder.normalised_name, stakeholder)
            if stakeholder.email_domain:
                self.domains.setdefault(stakeholder.email_domain, stakeholder)
        for stakeholder_id, domain in Contact.objects.exclude(email_domain="").values_list(
            "stakeholder_id", "email_domain"
        ):
            if stakeholder_id and domain not in self.domains:
                self.domains[domain] = stakeholder_id  # resolved to a name lazily below
        self.file_names: dict[str, int] = {}
        self.file_domains: dict[str, int] = {}

    def _describe(self, found) -> str:
        if isinstance(found, int):
            found = Stakeholder.objects.only("name").get(pk=found)
        return f"“{found.name}” (#{found.pk})"

    def resolve(self, cleaned: dict, row: int, errors: list[RowError]) -> dict:
        category_name = cleaned.pop("category", "")
        cleaned["category"] = None
        if category_name:
            cleaned["category"] = self.categories.get(category_name.casefold())
            if cleaned["category"] is None:
                known = ", ".join(c.name for c in self.categories.values())
                errors.append(
                    RowError(
                        row, "category", f"Unknown category “{category_name}”. Known: {known}."
                    )
                )
        value_names = [v.strip() for v in cleaned.pop("values", "").split(";") if v.strip()]
        cleaned_values = []
        for name in value_names:
            value = self.values.get(name.casefold())
            if value is None:
                errors.append(self.unknown(row, "values", "value", name))
            else:
                cleaned_values.append(value)
        cleaned["values"] = cleaned_values

        # A name or e-mail the form refused is not compared with others.
        key = normalise_name(cleaned.get("name", ""))
        domain = email_domain(cleaned.get("email", ""))
        if domain in PUBLIC_EMAIL_DOMAINS:
            domain = ""
        if key and key in self.names:
            errors.append(
                RowError(
                    row,
                    "name",
                    f"A stakeholder with this name exists: {self._describe(self.names[key])}.",
                )
            )
        elif key and key in self.file_names:
            errors.append(
                RowError(row, "name", f"Same name as row {self.file_names[key]} of this file.")
            )
        if domain and domain in self.domains:
            errors.append(
                RowError(
                    row,
                    "email",
                    f"The e-mail domain “{domain}” belongs to "
                    f"{self._describe(self.domains[domain])}.",
                )
            )
        elif domain and domain in self.file_domains:
            errors.append(
                RowError(
                    row,
                    "email",
                    f"Same e-mail domain as row {self.file_domains[domain]} of this file.",
                )
            )
        if key:
            self.file_names.setdefault(key, row)
        if domain:
            self.file_domains.setdefault(domain, row)
        return cleaned

    def create(self, cleaned: dict) -> Stakeholder:
        values = cleaned.pop("values")
        return services.stakeholder_create(
            by=self.by, values=values, allow_duplicate=False, **cleaned
        )


# --- Contacts -------------------------------------------------------------------------


class ContactRowForm(forms.Form):
    name = forms.CharField(max_length=200)
    stakeholder = forms.CharField(required=False)
    role = forms.CharField(required=False, max_length=120)
    email = forms.EmailField(required=False)
    phone = forms.CharField(required=False, max_length=40)
    notes = forms.CharField(required=False)


class ContactImporter(Importer):
    kind = "contacts"
    label = "Contacts"
    one = "contact"
    event_verb = "contacts.imported"
    columns = {
        "name": True,
        "stakeholder": False,  # the organisation's name
        "role": False,
        "email": False,
        "phone": False,
        "notes": False,
    }
    row_form = ContactRowForm

    def load(self) -> None:
        self.stakeholders = StakeholderLookup()

    def resolve(self, cleaned: dict, row: int, errors: list[RowError]) -> dict:
        name = cleaned.pop("stakeholder", "")
        cleaned["stakeholder"] = (
            self.stakeholders.find(name, row, "stakeholder", errors) if name else None
        )
        return cleaned

    def create(self, cleaned: dict) -> Contact:
        return services.contact_create(by=self.by, **cleaned)


def importers() -> dict[str, type[Importer]]:
    """Every kind of import, by the name the upload form uses."""
    from relationships.imports import RelationshipImporter

    return {
        OrganisationImporter.kind: OrganisationImporter,
        ContactImporter.kind: ContactImporter,
        RelationshipImporter.kind: RelationshipImporter,
    }

"""How text typed into a search box matches stakeholders and contacts: the global search
(core.search), the stakeholder, contact and relationship lists, their API filters (``?q=``
and ``?search=``, core.api.NamedSearchFilter) and the admin's search and autocomplete.

Names and e-mail addresses match through their search keys (``models.search_key``:
casefolded, accents stripped, apostrophes dropped, hyphens parting words), stored beside
them and computed the same way from what is typed, so matching is a plain ``LIKE`` with the
same answer on PostgreSQL and SQLite: "societe" finds "Société", "ZOË" finds "Zoë", and
"asa o'brien", "obrien", "O’Brien" and "nunez" all find "Åsa O'Brien-Ñúñez". Every word
typed must appear (in any order); a word of three or more characters anywhere, a shorter
one where a word of the name (or a part of the address) begins.
On PostgreSQL GIN trigram indexes serve those patterns (migration 0007): pg_trgm extracts
no trigram from ``'%ab%'``, which is why short words match word starts only.

The longer text fields (sector, country, description; a contact's role and notes; a
relationship's purpose) go through PostgreSQL full-text search and its GIN indexes: words,
the last one as a prefix, in lower case (accents count). SQLite, the development default,
matches them as a lower-cased substring instead (lower case beyond ASCII, like PostgreSQL:
``UnicodeLower``); only these fields may differ between the two engines (stemming, words).
Other fields an API list or admin page searches (titles, notes …) are compared in lower
case, as a substring, on both engines (``fields_q``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Func,
    IntegerField,
    Model,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.lookups import Contains

from stakeholders.models import Contact, Stakeholder, search_key

MAX_LENGTH = 200
MAX_WORDS = 8
# pg_trgm finds no trigram in a pattern like '%ab%', so the index could not narrow it.
MIN_ANYWHERE = 3
# Where a word begins, for those shorter words. pg_trgm sees a word start after any
# non-letter, so these are the rows its index offers: none is read only to be dropped.
NAME_WORD_STARTS = (" ",)
EMAIL_WORD_STARTS = ("@", ".", " ")  # a space: where a hyphen was ("heron-log.example")
# How many matches a sorted list names by id (see stakeholder_list_q).
FEW_MATCHES = 2000

# Full-text fields per model. The indexes (stakeholders 0007, relationships 0005) must index
# exactly the vectors built from these lists, or PostgreSQL reads every row: the test
# test_postgresql_can_serve_every_search_condition_from_an_index checks.
TEXT_FIELDS = {
    "stakeholder": ["sector", "country", "description"],
    "contact": ["role", "notes"],
    "relationship": ["purpose"],
}

NEEDS_LETTERS = "Type letters or digits to search."


def require_letters_or_digits(value: str) -> None:
    if value and not any(ch.isalnum() for ch in value):
        raise ValidationError(NEEDS_LETTERS, code="no_words")


class SearchField(forms.CharField):
    """The search box: at most 200 characters (a longer text is refused with that limit, not
    cut), no NUL (PostgreSQL cannot take it; Django's CharField refuses it) and at least one
    letter or digit."""

    default_validators = [require_letters_or_digits]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", MAX_LENGTH)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


@dataclass(frozen=True)
class Search:
    """A valid search text, as typed (whitespace collapsed) and as search keys."""

    text: str
    key: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, value: str) -> Search | None:
        """None for a blank text; ValidationError (a message for the user) for a bad one."""
        text = SearchField().clean(" ".join((value or "").split()))
        if not text:
            return None
        key = search_key(text)
        if not key:  # nothing left once accents are stripped
            raise ValidationError(NEEDS_LETTERS, code="no_words")
        return cls(text=text, key=key, words=tuple(key.split()[:MAX_WORDS]))

    # --- Names and e-mail addresses: search keys ------------------------------------

    def keys_q(self, *, names: Sequence[str] = (), emails: Sequence[str] = ()) -> Q:
        """Every word in one of the key fields: "logistics heron" finds "Heron Logistics"."""
        fields = [(name, NAME_WORD_STARTS) for name in names]
        fields += [(email, EMAIL_WORD_STARTS) for email in emails]
        per_word = (
            reduce(or_, (_word_q(field, word, starts) for field, starts in fields))
            for word in self.words
        )
        return reduce(and_, per_word)

    def rank(self, field: str) -> Case:
        """0 the whole name, 1 the name starts with the text, 2 a word of it does, 3 other."""
        return Case(
            When(**{field: self.key}, then=Value(0)),
            When(**{f"{field}__startswith": self.key}, then=Value(1)),
            When(**{f"{field}__contains": f" {self.key}"}, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )

    # --- Longer text fields: full text on PostgreSQL ----------------------------------

    def text_q(self, model: str) -> Q:
        """The model's TEXT_FIELDS contain the text (see the module docstring). On
        PostgreSQL a condition on the row's own vector, which the planner combines with the
        trigram indexes in one bitmap scan."""
        fields = TEXT_FIELDS[model]
        if not settings.IS_POSTGRES:
            return reduce(or_, (_lower_contains(name, self.text) for name in fields))
        tsquery = self.tsquery()
        if not tsquery:
            return Q(pk__in=[])
        from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact

        return Q(
            SearchVectorExact(
                SearchVector(*fields, config="english"),
                SearchQuery(tsquery, search_type="raw", config="english"),
            )
        )

    def tsquery(self) -> str:
        """'acme logis' → 'acme & logis:*' (words only: nothing typed is tsquery syntax)."""
        terms = re.findall(r"\w+", self.text.lower())[:MAX_WORDS]
        if not terms:
            return ""
        return " & ".join([*terms[:-1], f"{terms[-1]}:*"])


class UnicodeLower(Func):
    """LOWER() that lower-cases every letter on both engines: PostgreSQL's does (as its
    full-text search does); SQLite's only lower-cases ASCII, so there it is Python's
    ``str.lower``, registered on each connection (``register_sqlite_functions``)."""

    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_LOWER, **extra_context)


SQLITE_LOWER = "rapport_lower"


def _sqlite_lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """connection_created receiver (StakeholdersConfig.ready)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_LOWER, 1, _sqlite_lower, deterministic=True)


def _lower_contains(path: str, text: str) -> Q:
    """``path`` contains ``text``, case ignored beyond ASCII (LIKE's wildcards literal)."""
    return Q(Contains(UnicodeLower(path), text.lower()))


def _word_q(field: str, word: str, starts: tuple[str, ...]) -> Q:
    if len(word) >= MIN_ANYWHERE:
        return Q(**{f"{field}__contains": word})
    condition = Q(**{f"{field}__startswith": word})
    for start in starts:
        condition |= Q(**{f"{field}__contains": f"{start}{word}"})
    return condition


def matching_stakeholders(queryset: QuerySet, search: Search) -> QuerySet:
    """Stakeholders whose name or e-mail holds every word, or whose sector, country or
    description contains the text."""
    return queryset.filter(
        search.keys_q(names=["normalised_name"], emails=["search_email"])
        | search.text_q("stakeholder")
    )


def stakeholder_list_q(search: Search) -> Q:
    """matching_stakeholders for a list sorted by an indexed column (name, value fit).

    PostgreSQL pages such a list by walking the sort index, testing each row until the page
    is full. When the matches are few, or sit at the end of the order ("zurich"), that tests
    every row, and the full-text test alone took 0.4 s over 50,000 stakeholders. So the
    matches are first fetched through the indexes and, up to FEW_MATCHES of them, named by
    id (a cheap test per row); more matches than that fill a page early in any order, and
    are tested by their keys, with the full text looked up once, not per row."""
    matches = matching_stakeholders(Stakeholder.objects.order_by(), search)
    few = list(matches.values_list("pk", flat=True)[: FEW_MATCHES + 1])
    if len(few) <= FEW_MATCHES:
        return Q(pk__in=few)
    texts = Stakeholder.objects.filter(search.text_q("stakeholder"))
    return search.keys_q(names=["normalised_name"], emails=["search_email"]) | Q(
        pk__in=texts.values("pk")
    )


# --- Any list's fields: the API's ?search= and the admin -----------------------------------

# Model fields with a search key stored beside them: searched through the key.
KEY_FIELDS: dict[tuple[type[Model], str], tuple[str, tuple[str, ...]]] = {
    (Stakeholder, "name"): ("normalised_name", NAME_WORD_STARTS),
    (Stakeholder, "normalised_name"): ("normalised_name", NAME_WORD_STARTS),
    (Stakeholder, "email"): ("search_email", EMAIL_WORD_STARTS),
    (Stakeholder, "search_email"): ("search_email", EMAIL_WORD_STARTS),
    (Contact, "name"): ("search_name", NAME_WORD_STARTS),
    (Contact, "search_name"): ("search_name", NAME_WORD_STARTS),
    (Contact, "email"): ("search_email", EMAIL_WORD_STARTS),
    (Contact, "search_email"): ("search_email", EMAIL_WORD_STARTS),
}


def _key_field(model: type[Model], path: str) -> tuple[str, tuple[str, ...]] | None:
    """The search key's path for a path to a stakeholder's or contact's name or e-mail
    ("relationship__stakeholder__name" → "relationship__stakeholder__normalised_name").
    Raises FieldDoesNotExist for a path that is not plain field names."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    model._meta.get_field(name)
    key = KEY_FIELDS.get((model, name))
    if key is None:
        return None
    return "__".join([*relations, key[0]]), key[1]


def fields_q(model: type[Model], fields: Sequence[str], search: Search) -> Q:
    """Every word typed in one of ``fields`` (paths from ``model``): names and e-mail
    addresses through their search keys, exactly as the lists match them; any other field
    contains the word, case ignored (beyond ASCII on SQLite too, accents not)."""
    keyed, plain = [], []
    for path in fields:
        key = _key_field(model, path)
        if key is None:
            plain.append(path)
        else:
            keyed.append(key)
    per_word = []
    for word in search.text.split()[:MAX_WORDS]:
        key_words = search_key(word).split()
        if not key_words:
            continue  # punctuation alone ("-"): folded away, as in the keys
        options = [
            reduce(and_, (_word_q(field, part, starts) for part in key_words))
            for field, starts in keyed
        ]
        options += [_lower_contains(path, word) for path in plain]
        per_word.append(reduce(or_, options))
    return reduce(and_, per_word, Q())


# --- The lists' q ---------------------------------------------------------------------


class SearchFilter(django_filters.CharFilter):
    """A list's ``q``: validated as the search box, matched by ``match(queryset, search)``,
    which the API's ``?search=`` uses as well (core.api.NamedSearchFilter)."""

    field_class = SearchField

    def __init__(self, *, match: Callable[[QuerySet, Search], QuerySet], **kwargs) -> None:
        self.match = match
        kwargs.setdefault("label", "Search")
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        search = Search.parse(value)  # validated by the form already; None if blank
        return self.match(qs, search) if search else qs


def search_refused(filterset: django_filters.FilterSet) -> bool:
    """True when ``q`` was refused: the list then shows the message and no rows, rather
    than every row as if nothing had been typed."""
    return bool(filterset.form.errors.get("q"))

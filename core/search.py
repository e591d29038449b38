"""Global search across stakeholders, contacts and relationships the user may see.

PostgreSQL gets full-text search (stemmed, ranked, `websearch` syntax); SQLite, the
development default, a case-insensitive substring match on the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet

from relationships.selectors import relationships_visible_to
from stakeholders.models import Contact, Stakeholder

MAX_QUERY_LENGTH = 200


@dataclass
class SearchResults:
    query: str
    stakeholders: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    relationships: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.stakeholders) + len(self.contacts) + len(self.relationships)


def _match(queryset: QuerySet, query: str, fields: list[str]) -> QuerySet:
    if settings.IS_POSTGRES:
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector(*fields, config="english")
        search = SearchQuery(query, search_type="websearch", config="english")
        # Prefix matches on the first field catch what people type while still typing.
        return (
            queryset.annotate(rank=SearchRank(vector, search))
            .filter(Q(rank__gt=0) | Q(**{f"{fields[0]}__istartswith": query}))
            .order_by("-rank", fields[0])
        )
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": query})
    return queryset.filter(condition)


def search_everything(user, query: str, limit: int = 8) -> SearchResults:
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    results = SearchResults(query=query)
    if len(query) < 2:
        return results
    results.stakeholders = list(
        _match(
            Stakeholder.objects.select_related("category"),
            query,
            ["name", "sector", "country", "description"],
        )[:limit]
    )
    results.contacts = list(
        _match(
            Contact.objects.select_related("stakeholder"), query, ["name", "role", "email", "notes"]
        )[:limit]
    )
    results.relationships = list(
        _match(
            relationships_visible_to(user),
            query,
            ["stakeholder__name", "purpose", "type__name"],
        )[:limit]
    )
    return results

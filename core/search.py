"""Global search across stakeholders, contacts and relationships the user may see.

PostgreSQL gets full-text search: every word typed must match, the last one as a prefix (so
results follow the typing), ranked, served by the GIN indexes of the stakeholders and
relationships migrations (their expressions must stay identical to the vectors below).
SQLite, the development default, gets a case-insensitive substring match on the same fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet

from relationships.models import RelationshipType
from relationships.selectors import relationships_visible_to
from stakeholders.models import Contact, Stakeholder

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
STAKEHOLDER_FIELDS = ["name", "sector", "country", "description"]
CONTACT_FIELDS = ["name", "role", "email", "notes"]
RELATIONSHIP_FIELDS = ["purpose"]


@dataclass
class SearchResults:
    query: str
    stakeholders: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    relationships: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.stakeholders) + len(self.contacts) + len(self.relationships)


def prefix_tsquery(query: str) -> str:
    """'acme logis' → 'acme & logis:*' (words only: nothing the user types is tsquery syntax)."""
    terms = re.findall(r"\w+", query.lower())[:MAX_TERMS]
    if not terms:
        return ""
    return " & ".join(terms[:-1] + [f"{terms[-1]}:*"])


def _full_text(queryset: QuerySet, fields: list[str], tsquery: str) -> QuerySet:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = SearchVector(*fields, config="english")
    search = SearchQuery(tsquery, search_type="raw", config="english")
    # Filtering on the vector itself (the @@ operator) is what lets the GIN index serve it.
    return (
        queryset.alias(document=vector)
        .filter(document=search)
        .annotate(rank=SearchRank(vector, search))
    )


def _substring(queryset: QuerySet, fields: list[str], query: str) -> QuerySet:
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": query})
    return queryset.filter(condition)


def search_everything(user, query: str, limit: int = 8) -> SearchResults:
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    results = SearchResults(query=query)
    if len(query) < 2:
        return results
    stakeholders = Stakeholder.objects.select_related("category")
    contacts = Contact.objects.select_related("stakeholder")
    relationships = relationships_visible_to(user)
    type_ids = list(
        RelationshipType.objects.filter(name__icontains=query).values_list("pk", flat=True)
    )
    if settings.IS_POSTGRES:
        tsquery = prefix_tsquery(query)
        if not tsquery:
            return results
        matching_stakeholders = _full_text(Stakeholder.objects.all(), STAKEHOLDER_FIELDS, tsquery)
        results.stakeholders = list(
            _full_text(stakeholders, STAKEHOLDER_FIELDS, tsquery).order_by("-rank", "name")[:limit]
        )
        results.contacts = list(
            _full_text(contacts, CONTACT_FIELDS, tsquery).order_by("-rank", "name")[:limit]
        )
        purpose_ids = _full_text(
            relationships.model.objects.all(), RELATIONSHIP_FIELDS, tsquery
        ).values("pk")
        relationships = relationships.filter(
            Q(stakeholder_id__in=matching_stakeholders.values("pk"))
            | Q(pk__in=purpose_ids)
            | Q(type_id__in=type_ids)
        )
    else:
        results.stakeholders = list(_substring(stakeholders, STAKEHOLDER_FIELDS, query)[:limit])
        results.contacts = list(_substring(contacts, CONTACT_FIELDS, query)[:limit])
        relationships = relationships.filter(
            Q(stakeholder__name__icontains=query)
            | Q(purpose__icontains=query)
            | Q(type_id__in=type_ids)
        )
    results.relationships = list(relationships[:limit])
    return results

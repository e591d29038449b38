"""Global search across stakeholders, contacts and relationships the user may see.

What matches what is stakeholders.search: names and e-mail addresses through their
accent- and case-free search keys (trigram-indexed on PostgreSQL, the same answer on
SQLite), the longer text fields through full-text search. Results whose name is the text,
or starts with it, come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from relationships.filters import matching_relationship_ids
from relationships.models import RelationshipType
from relationships.selectors import relationships_visible_to
from stakeholders.models import Contact, Stakeholder, search_key
from stakeholders.search import MAX_LENGTH, Search, matching_stakeholders

MIN_LENGTH = 2


@dataclass
class SearchResults:
    query: str
    error: str = ""
    stakeholders: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    relationships: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.stakeholders) + len(self.contacts) + len(self.relationships)


def search_everything(user, query: str, limit: int = 8) -> SearchResults:
    # Shown back in the box: NUL would be dropped by the browser anyway.
    shown = " ".join(query.replace("\x00", "").split())[:MAX_LENGTH]
    results = SearchResults(query=shown)
    try:
        search = Search.parse(query)
    except ValidationError as error:
        results.error = error.messages[0]
        return results
    if search is None or len(search.text) < MIN_LENGTH:
        return results

    stakeholders = matching_stakeholders(Stakeholder.objects.select_related("category"), search)
    stakeholders = stakeholders.annotate(match=search.rank("normalised_name"))
    results.stakeholders = list(stakeholders.order_by("match", "name", "pk")[:limit])

    contacts = Contact.objects.select_related("stakeholder").filter(
        search.keys_q(names=["search_name"], emails=["search_email"]) | search.text_q("contact")
    )
    contacts = contacts.annotate(match=search.rank("search_name"))
    results.contacts = list(contacts.order_by("match", "name", "pk")[:limit])

    # A handful of reference rows: matched here with the same keys as names.
    type_ids = [
        pk
        for pk, name in RelationshipType.objects.values_list("pk", "name")
        if search.key in search_key(name)
    ]
    # Found by their stakeholder's name (as in the relationship list), purpose or type.
    relationships = relationships_visible_to(user).filter(
        pk__in=matching_relationship_ids(search, type_ids)
    )
    relationships = relationships.annotate(match=search.rank("stakeholder__normalised_name"))
    results.relationships = list(relationships.order_by("match", "stakeholder__name", "pk")[:limit])
    return results

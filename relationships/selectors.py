"""Reads of relationships, always scoped by accounts.permissions."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts import permissions
from relationships.models import Commitment, Interaction, Relationship, ValueRecord


def relationships_visible_to(user) -> QuerySet[Relationship]:
    return (
        Relationship.objects.filter(permissions.relationship_scope(user))
        .select_related("stakeholder", "stakeholder__category", "type", "manager", "team")
        .order_by("stakeholder__name", "id")
    )


def get_relationship_for(user, pk, *, write: bool = False, contribute: bool = False):
    """The relationship if the user may see it (and change or contribute to it), else 404.

    A record the user may not see answers 404 rather than 403, so its existence leaks nothing.
    """
    try:
        relationship = relationships_visible_to(user).get(pk=pk)
    except (Relationship.DoesNotExist, ValueError, TypeError):
        raise Http404("No such relationship") from None
    if write and not permissions.may_change_relationship(user, relationship):
        raise Http404("No such relationship")
    if contribute and not permissions.may_contribute_to_relationship(user, relationship):
        raise Http404("No such relationship")
    return relationship


def interactions_visible_to(user) -> QuerySet[Interaction]:
    return Interaction.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder", "created_by")


def commitments_visible_to(user) -> QuerySet[Commitment]:
    return Commitment.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder", "owner")


def value_records_visible_to(user) -> QuerySet[ValueRecord]:
    return ValueRecord.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder")

"""Who may see and change what. The one place every view, API, export and task asks.

Roles (accounts.models.Role):
- admin: everything.
- executive: reads everything; writes only what they are explicitly asked for (reviews).
- manager: owns and edits relationships they manage or that their teams own.
- contributor: logs interactions and follow-ups on relationships of their teams.

Later apps add object rules here (relationships, plans, reviews) so that the answer to
"may this user see this record" never lives in two places.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User

    AnyUser = User | AnonymousUser


# A bound on staleness should an invalidation ever be missed (e.g. a raw SQL edit).
TEAM_IDS_CACHE_SECONDS = 10 * 60


def is_admin(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def reads_everything(user: AnyUser) -> bool:
    """Admins and executives read every record, confidential ones included."""
    return bool(
        user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.EXECUTIVE)
    )


def may_manage_users(user: AnyUser) -> bool:
    return is_admin(user)


def may_see_security_log(user: AnyUser) -> bool:
    """The security log names people, addresses and what they did: admins only."""
    return is_admin(user)


def _team_ids_key(user_id: int) -> str:
    return f"accounts:team-ids:v1:{user_id}"


def team_ids(user: AnyUser) -> set[int]:
    """Ids of the user's teams: every page asks, so they are kept on the user object for the
    request and in the shared cache across requests. Any membership change forgets the
    cached answer (accounts.receivers), so the cache can never widen what a user sees for
    longer than the change takes to commit."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_rapport_team_ids", None)
    if cached is None:
        key = _team_ids_key(user.pk)
        stored = cache.get(key)
        if stored is None:
            stored = sorted(user.teams.values_list("id", flat=True))
            cache.set(key, stored, TEAM_IDS_CACHE_SECONDS)
        cached = set(stored)
        user._rapport_team_ids = cached
    return cached


def forget_team_ids(user_ids: Iterable[int]) -> None:
    """Drop the cached team ids of these users (their memberships changed)."""
    cache.delete_many([_team_ids_key(user_id) for user_id in user_ids])


# --- Stakeholders and contacts --------------------------------------------------------
# The registry of organisations and people is shared across the organisation; what is
# confidential is the relationship with them (below).


def may_change_stakeholders(user: AnyUser) -> bool:
    """Managers and admins maintain the registry; others read it."""
    return bool(
        user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MANAGER)
    )


def may_merge_stakeholders(user: AnyUser) -> bool:
    return is_admin(user)


def may_import(user: AnyUser) -> bool:
    return may_change_stakeholders(user)


# --- Relationships --------------------------------------------------------------------
# Rules work on any object or queryset with the Relationship fields team_id, manager_id and
# confidential, so this module needs no import from the relationships app.


def relationship_scope(user: AnyUser, prefix: str = "") -> Q:
    """Q selecting the relationships the user may see (prefix for related lookups)."""
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if reads_everything(user):
        return Q()
    return (
        Q(**{f"{prefix}confidential": False})
        | Q(**{f"{prefix}team_id__in": team_ids(user)})
        | Q(**{f"{prefix}manager_id": user.pk})
    )


def tally_scope(user: AnyUser) -> Q:
    """``relationship_scope`` for rows that count relationships by what decides who sees
    them (dashboard.models: team_key, confidential, and manager_key, which names the
    manager of confidential relationships only): the sum of the rows it selects is exactly
    the count of the relationships the user may see."""
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if reads_everything(user):
        return Q()
    return Q(confidential=False) | confidential_tally_scope(user)


def confidential_tally_scope(user: AnyUser) -> Q:
    """The confidential rows of ``tally_scope``: the user's teams' and the ones they manage
    (all of them for those who read everything)."""
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if reads_everything(user):
        return Q(confidential=True)
    return Q(confidential=True) & (Q(team_key__in=team_ids(user)) | Q(manager_key=user.pk))


def may_see_relationship(user: AnyUser, relationship) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if reads_everything(user) or not relationship.confidential:
        return True
    return relationship.manager_id == user.pk or relationship.team_id in team_ids(user)


def relationship_seen_by(user_field: str, prefix: str = "") -> Q:
    """The rule of ``may_see_relationship`` turned around, for scans that decide whom to tell:
    a Q over rows naming a user (``user_field``, e.g. "owner") and a relationship
    (``prefix``), true where that user may see that relationship. One query for a batch,
    however many different users it names."""
    from accounts.models import User

    member = User.teams.through.objects.filter(
        user_id=OuterRef(f"{user_field}_id"), team_id=OuterRef(f"{prefix}team_id")
    )
    return Q(**{f"{user_field}__is_active": True}) & (
        Q(**{f"{user_field}__role__in": [Role.ADMIN, Role.EXECUTIVE]})
        | Q(**{f"{prefix}confidential": False})
        | Q(**{f"{prefix}manager_id": F(f"{user_field}_id")})
        | Q(Exists(member))
    )


# Which rows of a model a user may name (in a list filter, say). Records on a relationship
# are visible exactly when it is: model label → the lookup from the row to the relationship.
RELATIONSHIP_SCOPED: dict[str, str] = {
    "relationships.relationship": "",
    "relationships.interaction": "relationship__",
    "relationships.commitment": "relationship__",
    "relationships.valuerecord": "relationship__",
    "relationships.stagetransition": "relationship__",
    "reviews.review": "relationship__",
    "reviews.feedbackrequest": "relationship__",
    "reviews.feedbackresponse": "relationship__",
}
# Shared by the organisation: everyone signed in reads every row. People include those who
# left (deactivated): records still name them as owners and managers.
SHARED_MODELS: frozenset[str] = frozenset(
    {
        "accounts.user",
        "accounts.team",
        "stakeholders.stakeholder",
        "stakeholders.contact",
        "stakeholders.category",
        "stakeholders.value",
        "stakeholders.assessment",
        "relationships.relationshiptype",
        "plans.objectivelevel",
        "plans.objective",
        "plans.plan",
        "plans.initiative",
    }
)


# --- Events (the activity feed and /api/v1/events/) --------------------------------------


def event_scope(user: AnyUser) -> Q:
    """Q selecting the events the user may see. An event on a relationship is visible exactly
    when that relationship is, as it is *now* (the join reads its current confidentiality,
    team and manager); an event whose relationship row is gone matches none of those terms,
    so only those who read everything see it. Events on no relationship (the registry,
    plans) are shared like the records they describe."""
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if reads_everything(user):
        return Q()
    return Q(relationship_id__isnull=True) | relationship_scope(user, "relationship__")


def may_see_organisation_feed(user: AnyUser) -> bool:
    """ "What changed" across the organisation: executives and admins (everything), managers
    (what they may see). Contributors follow their relationships and their own activity."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_admin or user.role in (Role.EXECUTIVE, Role.MANAGER))
    )


def visible_rows(queryset: QuerySet, user: AnyUser) -> QuerySet:
    """The rows of ``queryset`` the user may see, whatever its model: relationships and
    their records by ``relationship_scope``; shared records as they are (the same queryset
    object). A model this module does not know is a configuration error, not a guess."""
    label = queryset.model._meta.label_lower
    if label == "events.event":
        return queryset.filter(event_scope(user))
    if label in RELATIONSHIP_SCOPED:
        return queryset.filter(relationship_scope(user, RELATIONSHIP_SCOPED[label]))
    if label in SHARED_MODELS:
        return queryset if user.is_authenticated and user.is_active else queryset.none()
    raise ImproperlyConfigured(
        f"accounts.permissions does not say who may see {label} rows: add the model to "
        "RELATIONSHIP_SCOPED or SHARED_MODELS (or give it a rule of its own)."
    )


def may_create_relationship(user: AnyUser) -> bool:
    return may_change_stakeholders(user)


def may_change_relationship(user: AnyUser, relationship) -> bool:
    """Edit fields, move through the lifecycle: its manager, its team's managers, admins."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_admin:
        return True
    if user.role != Role.MANAGER:
        return False
    return relationship.manager_id == user.pk or relationship.team_id in team_ids(user)


def may_contribute_to_relationship(user: AnyUser, relationship) -> bool:
    """Log interactions, commitments and value: anyone who may change it, and contributors
    of its team."""
    if may_change_relationship(user, relationship):
        return True
    return bool(
        user.is_authenticated
        and user.is_active
        and user.role == Role.CONTRIBUTOR
        and (relationship.team_id in team_ids(user) or relationship.manager_id == user.pk)
    )


def may_log_interactions(user: AnyUser) -> bool:
    """Whether the user logs interactions at all, on some relationship
    ``may_contribute_to_relationship`` allows: everyone but executives, who read."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_admin or user.role in (Role.MANAGER, Role.CONTRIBUTOR))
    )


def may_assign_team(user: AnyUser, team_id: int | None) -> bool:
    """Who may put a relationship in a team: admins anywhere, managers into their own teams."""
    if is_admin(user):
        return True
    return team_id is not None and team_id in team_ids(user)


def may_set_confidential(user: AnyUser, relationship) -> bool:
    return may_change_relationship(user, relationship)


# --- Plans ----------------------------------------------------------------------------


def may_edit_plans(user: AnyUser) -> bool:
    """Managers and admins edit objectives, plans and initiatives; everyone else reads."""
    return may_change_stakeholders(user)

"""Keep what accounts.permissions caches in step with team membership."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver

from accounts.models import Team, User
from accounts.permissions import forget_team_ids


def _forget(user_ids: set[int]) -> None:
    # Now, and again after commit: a request running between the two could otherwise cache
    # the memberships as they were before this transaction committed.
    forget_team_ids(user_ids)
    transaction.on_commit(lambda: forget_team_ids(user_ids))


@receiver(m2m_changed, sender=User.teams.through)
def membership_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in {"post_add", "post_remove", "pre_clear", "post_clear"}:
        return
    if not reverse:  # user.teams.add(...): the instance is the user
        _forget({instance.pk})
    elif action == "pre_clear":  # team.members.clear(): pk_set is None, read members first
        _forget(set(instance.members.values_list("pk", flat=True)))
    elif pk_set:  # team.members.add/remove(...)
        _forget(set(pk_set))


@receiver(pre_delete, sender=Team)
def team_deleted(sender, instance: Team, **kwargs) -> None:
    _forget(set(instance.members.values_list("pk", flat=True)))

from __future__ import annotations

from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_update_profile(*, user: User, first_name: str, last_name: str, email: str) -> User:
    """A user edits their own name and e-mail; role and teams stay with the admins."""
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.email = email.strip()
    user.save(update_fields=["first_name", "last_name", "email"])
    return user

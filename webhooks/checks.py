"""System checks: a malformed WEBHOOK_ALLOWED_INTERNAL_HOSTS stops `manage.py check`,
`migrate` and `runserver`, instead of the first webhook form or delivery."""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from webhooks.addresses import allowed_internal


@checks.register(checks.Tags.security)
def check_allowed_internal_hosts(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        allowed_internal()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="webhooks.E001")]
    return []

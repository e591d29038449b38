"""The Django admin, for admins only: everyone else signed in is refused in the product's look.

Django's own admin sends a signed-in user who may not use it to the admin's login page.
Here that page is the site's sign-in (config/urls.py: it has the second factor), which sends
a signed-in user back to where they were going: the admin, and round again, forever. A
signed-in non-admin gets the 403 page instead; someone not signed in is still sent to sign
in (LoginRequiredMiddleware, before any admin view runs).
"""

from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied

NOT_FOR_YOU = (
    "The administration pages are for administrators. If something there needs changing, "
    "ask one of them."
)


class RapportAdminSite(admin.AdminSite):
    site_header = "Rapport administration"
    site_title = "Rapport admin"

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied(NOT_FOR_YOU)  # core.views.permission_denied: 403 page
            return checked(request, *args, **kwargs)

        return update_wrapper(inner, checked)

from django.contrib.admin.apps import AdminConfig


class RapportAdminConfig(AdminConfig):
    """Listed in INSTALLED_APPS in place of "django.contrib.admin", so that ``admin.site``
    (and every ``@admin.register``) is a RapportAdminSite. The site lives in its own module:
    importing it here would load the admin before the app registry is ready."""

    default_site = "config.admin_site.RapportAdminSite"

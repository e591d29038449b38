"""The project's URLs plus the dashboard's, until the lead mounts them in config/urls.py."""

from django.urls import include, path

from config.urls import urlpatterns as base

mounted = {getattr(p, "namespace", None) for p in base}
urlpatterns = [*base]
if "dashboard" not in mounted:
    urlpatterns.append(path("dashboard/", include("dashboard.urls")))

"""The project's URLs plus the webhooks pages, until config/urls.py mounts them."""

from django.urls import include, path

from config.urls import urlpatterns as base

mounted = {getattr(p, "app_name", None) or getattr(p, "namespace", None) for p in base}
urlpatterns = [*base]
if "webhooks" not in mounted:
    urlpatterns.append(path("webhooks/", include("webhooks.urls")))

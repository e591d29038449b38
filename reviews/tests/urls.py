"""The project's URLs plus this app's, until the lead mounts them in config/urls.py."""

from django.urls import include, path

from config.urls import urlpatterns as base

mounted = {getattr(p, "app_name", None) or getattr(p, "namespace", None) for p in base}
urlpatterns = [*base]
if "reviews" not in mounted:
    urlpatterns.append(path("reviews/", include("reviews.urls")))
if "notifications" not in mounted:
    urlpatterns.append(path("notifications/", include("notifications.urls")))
if "feedback" not in mounted:
    urlpatterns.append(path("feedback/", include("reviews.public_urls")))

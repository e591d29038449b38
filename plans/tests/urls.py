"""The project's URLs plus plans.urls, until config/urls.py includes them."""

from django.urls import include, path

from config.urls import urlpatterns as base

urlpatterns = [*base, path("plans/", include("plans.urls"))]

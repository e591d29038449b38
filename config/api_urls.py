"""The REST API under /api/v1/: one router, each app registering its resources."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api

router = DefaultRouter()
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("teams", accounts_api.TeamViewSet, basename="team")

urlpatterns = [
    path("auth/token/", accounts_api.ObtainTokenView.as_view(), name="auth-token"),
    *router.urls,
]

"""API: token issuing, and read-only users and teams."""

from __future__ import annotations

import django_filters
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.models import ApiToken, Team, User
from accounts.tokens import token_create
from core.api import FILTER_BACKENDS, IdsFilter, error_responses


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "description"]


class UserSerializer(serializers.ModelSerializer):
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    full_name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "first_name", "last_name", "role", "teams"]


class UserFilter(django_filters.FilterSet):
    # Not the generated filter: its ``pk__in`` overflowed (500) on a huge id.
    teams = IdsFilter(queryset=Team.objects.all(), label="Members of any of these teams.")

    class Meta:
        model = User
        fields = ["role", "teams"]


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users of Rapport (read only): relationship managers, owners, participants."""

    serializer_class = UserSerializer
    queryset = User.objects.filter(is_active=True).prefetch_related("teams").order_by("id")
    filter_backends = FILTER_BACKENDS
    filterset_class = UserFilter
    search_fields = ["username", "first_name", "last_name"]
    ordering_fields = ["id", "username"]


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """Teams (read only)."""

    serializer_class = TeamSerializer
    queryset = Team.objects.order_by("id")
    filter_backends = FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["id", "name"]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    name = serializers.CharField(max_length=80, required=False, default="API token")
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.WRITE)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: store it now.")
    name = serializers.CharField()
    scope = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenLoginThrottle(AnonRateThrottle):
    scope = "token_login"
    rate = "10/min"


class ObtainTokenView(APIView):
    """Exchange a username and password for a new personal API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenLoginThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenResponseSerializer,
            **error_responses(400),
        },
        examples=[
            OpenApiExample(
                "Request",
                value={"username": "manager", "password": "…", "name": "CRM sync"},
                request_only=True,
            )
        ],
        auth=[],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        user = authenticate(
            request._request, username=fields["username"], password=fields["password"]
        )
        if user is None:
            return Response(
                {"code": "invalid_credentials", "detail": "Wrong username or password."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, raw = token_create(
            user=user, name=fields["name"], scope=fields["scope"], expires_at=fields["expires_at"]
        )
        body = {"token": raw, "name": token.name, "scope": token.scope}
        body["expires_at"] = token.expires_at
        return Response(TokenResponseSerializer(body).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("users", UserViewSet, "user"),
    ("teams", TeamViewSet, "team"),
]

"""API: token issuing, and read-only users and teams."""

from __future__ import annotations

import django_filters
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken, Team, User
from accounts.tokens import token_create
from accounts.twofactor import two_factor_check_for_token
from core.api import (
    FILTER_BACKENDS,
    ApiErrorSerializer,
    IdsFilter,
    StrictCharField,
    StrictJSONParser,
    error_responses,
)
from core.errors import RuleViolation, error_body
from core.throttling import AnonRateThrottle
from security.lockout import api_lockout_response, token_request_lockout


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "description"]


class UserSerializer(serializers.ModelSerializer):
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    full_name = StrictCharField(source="get_full_name", read_only=True)

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
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)
    name = StrictCharField(max_length=80, required=False, default="API token")
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.WRITE)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    otp = StrictCharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the account uses two-factor authentication: the current "
        "6-digit code from the authenticator app, or an unused recovery code.",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = StrictCharField(help_text="Shown once: store it now.")
    name = StrictCharField()
    scope = StrictCharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenLoginThrottle(AnonRateThrottle):
    scope = "token_login"
    rate = "10/min"


class ObtainTokenView(APIView):
    """Exchange a username and password for a new personal API token. An account with
    two-factor authentication also sends the current code from its app as `otp`; tokens
    already issued keep working without one. The body may be JSON or a form
    (`curl -d username=… -d password=…`, or multipart): a script has no JSON at hand
    more often here than anywhere else."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser, parsers.FormParser, parsers.MultiPartParser]
    throttle_classes = [TokenLoginThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenResponseSerializer,
            **error_responses(400),
            429: OpenApiResponse(
                ApiErrorSerializer,
                description="Too many failed sign-ins for this username from this address: "
                "locked for a while (see `Retry-After`), the password is not checked.",
            ),
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
        # The sign-in page's lock (axes: failures per username and address) applies here
        # too, and while it holds the password is not even checked.
        locked = token_request_lockout(request._request, fields["username"])
        if locked is not None:
            return locked
        user = authenticate(
            request._request, username=fields["username"], password=fields["password"]
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):  # that failure locked it
                return api_lockout_response()
            return Response(
                error_body("invalid_credentials", "Wrong username or password."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            two_factor_check_for_token(user=user, otp=fields["otp"], request=request._request)
        except RuleViolation as error:
            raise serializers.ValidationError({"otp": [error.message]}, error.code) from None
        token, raw = token_create(
            user=user,
            name=fields["name"],
            scope=fields["scope"],
            expires_at=fields["expires_at"],
            request=request._request,
        )
        body = {"token": raw, "name": token.name, "scope": token.scope}
        body["expires_at"] = token.expires_at
        return Response(TokenResponseSerializer(body).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("users", UserViewSet, "user"),
    ("teams", TeamViewSet, "team"),
]

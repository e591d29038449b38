"""DRF authentication with personal API tokens (`Authorization: Bearer rpt_…`)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts.tokens import token_lookup
from events.context import note_api_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected “Bearer <token>”."
            )
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "The token contains invalid characters."
            ) from None
        token = token_lookup(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        note_api_token(token.pk)  # the events this request records name the token
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes unauthenticated API calls answer 401 with a WWW-Authenticate challenge.
        return 'Bearer realm="api"'

"""Shared REST API plumbing: errors, pagination, scopes. Resources live in each app's api.py."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination, permissions, status
from rest_framework.response import Response

from core.errors import ConcurrencyConflict, PermissionRefused, RuleViolation


def api_exception_handler(exc, context):
    """Business-rule refusals become 400/403/409 with a stable code and a human message."""
    if isinstance(exc, PermissionRefused):
        return Response({"code": exc.code, "detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RuleViolation):
        body = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        problems = getattr(exc, "problems", None)
        if problems:
            body["problems"] = [
                {"code": p.code, "detail": p.message, "field": p.field} for p in problems
            ]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConcurrencyConflict):
        return Response(
            {"code": exc.code, "detail": exc.message, "changes": exc.changes},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    # Imported here: this module is loaded while rest_framework.views is still importing.
    from rest_framework.views import exception_handler

    return exception_handler(exc, context)


class StablePagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TokenScopePermission(permissions.BasePermission):
    """A read-only token may read; writes need a session or a read-write token."""

    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if request.method in permissions.SAFE_METHODS or token is None:
            return True
        return getattr(token, "scope", "write") == "write"

"""GET /api/v1/dashboard/: the executive dashboard's figures as JSON.

The same filters and the same selectors as the page (dashboard.selectors), so the numbers
agree; the figures count only the relationships the caller may see. Unlike the page, an
invalid filter is refused (400 with the field's errors) rather than replaced by its default.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import error_responses
from core.dbrouting import report_read
from dashboard import selectors
from dashboard.forms import PERIODS, DashboardFilterForm

FIGURES = inline_serializer(
    name="DashboardFigures",
    fields={
        "filters": serializers.DictField(help_text="The period and slices applied."),
        "portfolio": serializers.DictField(
            help_text="Active count, stages, health (average, buckets, bands), retention, "
            "ended, quiet, contact windows, no manager, key relationships."
        ),
        "ended": serializers.DictField(help_text="Relationships ended in the period, reasons."),
        "unmanaged": serializers.ListField(child=serializers.DictField()),
        "reviews": serializers.DictField(
            help_text="overdue, due_this_month, overdue_relationships (as of today)."
        ),
        "adoption": serializers.ListField(
            child=serializers.DictField(), help_text="Per team contact shares and quiet count."
        ),
        "weekly": serializers.DictField(help_text="Interactions logged per person per week."),
        "key_load": serializers.DictField(help_text="Managers above the key-relationship limit."),
        "value": serializers.DictField(help_text="This period vs previous, per kind and unit."),
        "value_trend": serializers.DictField(help_text="Per month and unit, 12 months."),
        "satisfaction": serializers.DictField(),
        "satisfaction_trend": serializers.DictField(),
        "map": serializers.DictField(help_text="Stakeholder power × interest map."),
        "cascade": serializers.DictField(help_text="Top levels of the objective cascade."),
    },
)

EXAMPLE = {
    "filters": {
        "start": "2026-07-01",
        "end": "2026-09-30",
        "previous_start": "2026-03-31",
        "previous_end": "2026-06-30",
        "period": "this_quarter",
        "team": 3,
        "category": None,
        "type": None,
    },
    "portfolio": {
        "active": 42,
        "stages": [{"stage": "pilot", "label": "Pilot", "count": 7}],
        "health": {"average": 68.5, "band": "fair", "bands": {"good": 20, "fair": 15, "poor": 7}},
        "retention": {"active_at_start": 40, "still_active_at_end": 37, "rate": 92.5},
        "ended_in_period": 3,
        "quiet": {"count": 5, "days": 60},
        "contact": {"last_30_days": 30, "last_90_days": 38, "share_30": 71.4, "share_90": 90.5},
        "no_manager": 1,
        "key_active": 9,
    },
    "reviews": {"overdue": 4, "due_this_month": 6, "overdue_relationships": 4},
    "value": {
        "units": [{"unit": "GBP", "current": 120000.0, "previous": 95000.0, "change": 26.3}],
        "qualitative": {"current": 5, "previous": 2},
        "main_unit": "GBP",
    },
    "satisfaction": {"feedback_responses": 12, "feedback_average": 8.1, "combined_on_five": 4.2},
}


@report_read
class DashboardAPIView(APIView):
    @extend_schema(
        operation_id="dashboard_figures",
        summary="The dashboard's figures for a period and slice",
        parameters=[
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                enum=[key for key, _ in PERIODS],
                description="Named period (default last_12_months); 'custom' needs from and to.",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE, description="Custom period start."),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="Custom period end (at most 5 years)."
            ),
            OpenApiParameter("team", OpenApiTypes.INT, description="Team id."),
            OpenApiParameter("category", OpenApiTypes.INT, description="Stakeholder category id."),
            OpenApiParameter("type", OpenApiTypes.INT, description="Relationship type id."),
        ],
        responses={
            200: FIGURES,
            **error_responses(400),
        },
        examples=[OpenApiExample("A team's quarter", value=EXAMPLE, response_only=True)],
        tags=["dashboard"],
    )
    def get(self, request: Request) -> Response:
        form = DashboardFilterForm(request.query_params, today=timezone.localdate())
        if not form.is_valid():
            # The API's error shape, each refused parameter a problem (core.api).
            raise DjangoValidationError(form.errors.as_data())
        figures = selectors.dashboard_figures(request.user, form.filters())
        return Response(figures)


ROUTES: list = []
URLS = [path("dashboard/", DashboardAPIView.as_view(), name="dashboard")]

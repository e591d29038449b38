"""API: reviews of relationships (list, start, complete, ask an executive) and stakeholder
feedback requests.

Thin views over reviews.services and reviews.selectors: the same lifecycle rules, history
and permissions as the pages. Reviews and feedback requests are visible exactly when their
relationship is (accounts.permissions.relationship_scope): anything else answers 404.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import permissions
from accounts.models import User
from core.api import (
    FILTER_BACKENDS,
    EnumField,
    StrictBooleanFilter,
    StrictCharField,
    error_responses,
)
from core.errors import PermissionRefused
from core.limits import FEEDBACK_MESSAGE, LONG_TEXT
from relationships.models import Relationship
from reviews import selectors, services
from reviews.models import RATING_QUESTIONS, FeedbackRequest, FeedbackResponse, Review
from stakeholders.models import Contact

REVIEW_STATES = [
    ("scheduled", "Scheduled"),
    ("due", "Due today"),
    ("overdue", "Overdue"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
]


class VisibleRelationships(serializers.PrimaryKeyRelatedField):
    """Relationship ids the caller may see: any other id "does not exist" (as in plans)."""

    def get_queryset(self) -> QuerySet[Relationship]:
        request = self.context.get("request")
        return Relationship.objects.filter(
            permissions.relationship_scope(getattr(request, "user", None))
        )


# --- Reviews ----------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    stakeholder = StrictCharField(source="relationship.stakeholder.name", read_only=True)
    status = EnumField(Review.Status.choices, "ReviewStatusEnum", read_only=True)
    state = EnumField(
        REVIEW_STATES,
        "ReviewStateEnum",
        read_only=True,
        help_text="The status with due and overdue worked out from today's date.",
    )
    decision = EnumField(
        [("", "None yet"), *Review.Decision.choices], "ReviewDecisionEnum", read_only=True
    )
    reviewers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Executives asked to take part."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "relationship",
            "stakeholder",
            "status",
            "state",
            "due_on",
            "on_demand",
            "reviewers",
            *RATING_QUESTIONS,
            "went_well",
            "went_badly",
            "decision",
            "decision_note",
            "decision_applied",
            "stage_before",
            "stage_after",
            "completed_on",
            "completed_at",
            "completed_by",
            "created_at",
        ]
        read_only_fields = fields


def _rating(label: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=5, help_text=f"{label}, 1 to 5.")


class ReviewCompleteSerializer(serializers.Serializer):
    trust = _rating(RATING_QUESTIONS["trust"])
    communication = _rating(RATING_QUESTIONS["communication"])
    value_to_us = _rating(RATING_QUESTIONS["value_to_us"])
    value_to_them = _rating(RATING_QUESTIONS["value_to_them"])
    overall = _rating(RATING_QUESTIONS["overall"])
    went_well = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True, default="")
    went_badly = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True, default="")
    decision = EnumField(
        Review.Decision.choices,
        "ReviewDecisionInputEnum",
        help_text="grow → Build, change → Present, end → Ended (each through the lifecycle).",
    )
    decision_note = StrictCharField(
        max_length=LONG_TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to end (the reason) and to change (what changes).",
    )


class ReviewStartSerializer(serializers.Serializer):
    relationship = VisibleRelationships(queryset=Relationship.objects.all())


class AskReviewerSerializer(serializers.Serializer):
    reviewer = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), help_text="An executive (or an admin)."
    )


class ReviewFilter(filters.FilterSet):
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte", label="Due on or after.")
    due_before = filters.DateFilter(
        field_name="due_on", lookup_expr="lte", label="Due on or before."
    )
    overdue = StrictBooleanFilter(method="filter_overdue", label="Open and past its date.")
    state = filters.ChoiceFilter(choices=REVIEW_STATES, label="scheduled, due, overdue …")
    mine = StrictBooleanFilter(
        method="filter_mine", label="Relationships I manage, or reviews I was asked to join."
    )

    class Meta:
        model = Review
        fields = ["status", "relationship", "decision"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status=Review.Status.SCHEDULED, due_on__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        asked = Review.reviewers.through.objects.filter(user_id=user.pk).values("review_id")
        mine = Q(relationship__manager_id=user.pk) | Q(pk__in=asked)
        return queryset.filter(mine) if value else queryset.exclude(mine)


COMPLETE_EXAMPLES = [
    OpenApiExample(
        "Grow",
        value={
            "trust": 4,
            "communication": 4,
            "value_to_us": 5,
            "value_to_them": 4,
            "overall": 4,
            "went_well": "The pilot delivered on time.",
            "went_badly": "Slow invoicing.",
            "decision": "grow",
            "decision_note": "",
        },
        request_only=True,
    ),
    OpenApiExample(
        "End, with the reason",
        value={
            "trust": 2,
            "communication": 1,
            "value_to_us": 1,
            "value_to_them": 2,
            "overall": 1,
            "decision": "end",
            "decision_note": "Three missed deliveries in a row; no improvement plan.",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Ending without a reason",
        value={
            "code": "reason_required",
            "detail": "Ending a relationship needs a reason: say why it has not worked.",
            "field": "decision_note",
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "A rating out of range",
        value={"trust": ["Ensure this value is less than or equal to 5."]},
        response_only=True,
        status_codes=["400"],
    ),
]

# The executives asked, as ids (what the serializer shows).
REVIEWER_IDS = Prefetch("reviewers", queryset=User.objects.only("id"))


@extend_schema_view(
    list=extend_schema(
        description="Reviews of the relationships you may see, latest due date first."
    ),
    retrieve=extend_schema(
        description="One review.", responses={200: ReviewSerializer, **error_responses(404)}
    ),
)
class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Reviews: should the relationship grow, change or end? Completing one applies the
    decision through the lifecycle rules."""

    serializer_class = ReviewSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ReviewFilter
    search_fields = ["relationship__stakeholder__name"]
    ordering_fields = ["id", "due_on", "completed_at", "created_at"]
    ordering = ["-due_on", "-id"]

    def get_queryset(self) -> QuerySet[Review]:
        queryset = selectors.reviews_visible_to(self.request.user)
        if self.action != "complete":  # completing answers with the review as written
            queryset = queryset.prefetch_related(REVIEWER_IDS)
        return selectors.with_state(queryset, timezone.localdate()).order_by(*self.ordering)

    def _output(self, review: Review, code: int = status.HTTP_200_OK) -> Response:
        review = self.get_queryset().get(pk=review.pk)
        return Response(self.get_serializer(review).data, status=code)

    @extend_schema(
        description="Complete an open review with its ratings and decision. The decision "
        "applies through the lifecycle (grow → Build, change → Present, end → Ended) with its "
        "guards and history; an executive asked to review records it as advice. Refusals "
        "answer 400 with a code: `reason_required` (end without a reason), `change_required`, "
        "`change_not_possible`, `review_closed`, `relationship_ended`, `invalid_rating`; "
        "several at once come as `problems`. Nothing is saved when refused.",
        request=ReviewCompleteSerializer,
        responses={200: ReviewSerializer, **error_responses(400, 403, 404)},
        examples=COMPLETE_EXAMPLES,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk=None) -> Response:
        review = self.get_object()
        # Refuse before parsing: someone who may not complete it learns nothing from errors.
        if not services.may_complete(request.user, review):
            raise PermissionRefused("You may not complete this review.")
        data = ReviewCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        review = services.review_complete(
            review=review,
            ratings={name: fields.pop(name) for name in RATING_QUESTIONS},
            by=request.user,
            **fields,
        )
        # The review as written, not read again: a closed review's state is its status
        # (selectors.with_state); only the reviewers' ids are read.
        review.state = review.status
        prefetch_related_objects([review], REVIEWER_IDS)
        return Response(self.get_serializer(review).data)

    @extend_schema(
        description="Start a review of a relationship now: from Build this moves it to Review "
        "(which opens the review); elsewhere its open review is brought forward to today.",
        request=ReviewStartSerializer,
        responses={200: ReviewSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Start", value={"relationship": 12}, request_only=True)],
    )
    @action(detail=False, methods=["post"])
    def start(self, request: Request) -> Response:
        data = ReviewStartSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        review = services.review_start(
            relationship=data.validated_data["relationship"], by=request.user
        )
        return self._output(review)

    @extend_schema(
        description="Ask an executive to take part in an open review; they are notified and "
        "may then complete it (as advice).",
        request=AskReviewerSerializer,
        responses={200: ReviewSerializer, **error_responses(400, 403, 404)},
        examples=[OpenApiExample("Ask", value={"reviewer": 5}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def reviewers(self, request: Request, pk=None) -> Response:
        review = self.get_object()
        if not permissions.may_change_relationship(request.user, review.relationship):
            raise PermissionRefused("You may not change this review.")
        data = AskReviewerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_ask_reviewer(
            review=review, reviewer=data.validated_data["reviewer"], by=request.user
        )
        return self._output(review)


# --- Feedback requests ------------------------------------------------------------------


class FeedbackResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedbackResponse
        fields = [
            "satisfaction",
            "responsiveness",
            "communication",
            "value",
            "comment",
            "submitted_at",
        ]
        read_only_fields = fields


FEEDBACK_STATES = [
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("answered", "Answered"),
    ("expired", "Expired"),
]


class FeedbackRequestSerializer(serializers.ModelSerializer):
    stakeholder = StrictCharField(source="relationship.stakeholder.name", read_only=True)
    contact_name = StrictCharField(source="contact.name", read_only=True)
    state = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField(help_text="The stakeholder's answer, if any.")

    class Meta:
        model = FeedbackRequest
        fields = [
            "id",
            "relationship",
            "stakeholder",
            "contact",
            "contact_name",
            "message",
            "sent_by",
            "created_at",
            "expires_at",
            "sent_at",
            "answered_at",
            "state",
            "response",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "string", "enum": [value for value, _ in FEEDBACK_STATES]},
        component_name="FeedbackRequestStateEnum",
    )
    def get_state(self, request: FeedbackRequest) -> str:
        if request.answered_at:
            return "answered"
        if request.expires_at <= timezone.now():
            return "expired"
        return "sent" if request.sent_at else "queued"

    @extend_schema_field(FeedbackResponseSerializer(allow_null=True))
    def get_response(self, request: FeedbackRequest) -> dict | None:
        try:
            answer = request.response
        except FeedbackResponse.DoesNotExist:
            return None
        return FeedbackResponseSerializer(answer).data


class FeedbackRequestInputSerializer(serializers.Serializer):
    relationship = VisibleRelationships(queryset=Relationship.objects.all())
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(),
        help_text="A contact of the relationship's stakeholder, with an e-mail address.",
    )
    message = StrictCharField(
        max_length=FEEDBACK_MESSAGE,
        required=False,
        allow_blank=True,
        default="",
        help_text="A short personal note shown above the questions.",
    )


class FeedbackRequestFilter(filters.FilterSet):
    answered = StrictBooleanFilter(
        field_name="answered_at", lookup_expr="isnull", exclude=True, label="Answered or not."
    )

    class Meta:
        model = FeedbackRequest
        fields = ["relationship", "contact"]


@extend_schema_view(
    list=extend_schema(
        description="Feedback requests on the relationships you may see, newest first, with "
        "the answers."
    ),
    retrieve=extend_schema(
        description="One feedback request.",
        responses={200: FeedbackRequestSerializer, **error_responses(404)},
    ),
)
class FeedbackRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Surveys sent to a stakeholder's contacts: a single-use link by e-mail; the answers
    come back embedded (read only)."""

    serializer_class = FeedbackRequestSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = FeedbackRequestFilter
    search_fields = ["contact__name", "relationship__stakeholder__name"]
    ordering_fields = ["id", "created_at", "expires_at", "answered_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[FeedbackRequest]:
        return (
            FeedbackRequest.objects.filter(
                permissions.relationship_scope(self.request.user, prefix="relationship__")
            )
            .select_related("relationship__stakeholder", "contact", "response")
            .order_by(*self.ordering)
        )

    @extend_schema(
        description="Ask a contact of the relationship's stakeholder for feedback: the e-mail "
        "with the link goes out after the request is saved. Refused with "
        "`contact_elsewhere` (a contact of another stakeholder), `email_required`, "
        "`relationship_ended`.",
        request=FeedbackRequestInputSerializer,
        responses={201: FeedbackRequestSerializer, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "Ask",
                value={"relationship": 12, "contact": 40, "message": "How are we doing?"},
                request_only=True,
            ),
            OpenApiExample(
                "Someone else's contact",
                value={
                    "code": "contact_elsewhere",
                    "detail": "Jo Bloggs is not a contact of this stakeholder.",
                    "field": "contact",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        data = FeedbackRequestInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        feedback_request = services.feedback_request_create(by=request.user, **data.validated_data)
        feedback_request = self.get_queryset().get(pk=feedback_request.pk)
        return Response(self.get_serializer(feedback_request).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("reviews", ReviewViewSet, "review"),
    ("feedback-requests", FeedbackRequestViewSet, "feedback-request"),
]

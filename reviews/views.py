"""Review pages. Thin function views: parse input, call one service or selector, render.

HTMX requests get template partials ("page.html#name"); every URL also works as a plain
GET/POST, so responses that differ send ``Vary: HX-Request``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from accounts import permissions
from core.errors import RuleViolation
from relationships.selectors import get_relationship_for
from reviews import links, selectors, services
from reviews.forms import AskReviewerForm, FeedbackRequestForm, ReviewCompleteForm
from reviews.models import Review


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def _add_rule_errors(form, error: RuleViolation) -> None:
    for problem in getattr(error, "problems", None) or [error]:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)


def _lookahead() -> int:
    return int(getattr(settings, "REMINDER_LOOKAHEAD_DAYS", 7))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """My reviews: overdue, due soon, recently completed (executives: those they are asked)."""
    today = timezone.localdate()
    page = selectors.reviews_page(request.user, today, _lookahead())
    return render(request, "reviews/index.html", {"page": page, "today": today})


def _detail_context(request: HttpRequest, review: Review, form=None) -> dict:
    today = timezone.localdate()
    may_change = permissions.may_change_relationship(request.user, review.relationship)
    may_complete = review.is_open and services.may_complete(request.user, review)
    return {
        "review": review,
        "state": review.state(today),
        "today": today,
        "form": form if form is not None else (ReviewCompleteForm() if may_complete else None),
        "may_complete": may_complete,
        "may_change": may_change,
        "applies_decision": may_change,
        "reviewers": list(review.reviewers.all()),
        "ask_form": AskReviewerForm(queryset=selectors.executives_to_ask())
        if may_change and review.is_open
        else None,
        "relationship_url": links.relationship_path(review.relationship_id),
    }


@require_http_methods(["GET", "POST"])
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The review, and the form that completes it (inline validation over HTMX)."""
    review = selectors.get_review_for(request.user, pk)
    if request.method == "GET":
        return render(request, "reviews/detail.html", _detail_context(request, review))

    if not (review.is_open and services.may_complete(request.user, review)):
        raise Http404("No such open review")
    form = ReviewCompleteForm(request.POST)
    if form.is_valid():
        try:
            review = services.review_complete(
                review=review,
                ratings=form.ratings(),
                went_well=form.cleaned_data["went_well"],
                went_badly=form.cleaned_data["went_badly"],
                decision=form.cleaned_data["decision"],
                decision_note=form.cleaned_data["decision_note"],
                by=request.user,
            )
        except RuleViolation as error:
            _add_rule_errors(form, error)
        else:
            # The review as completed, with its relationship as the decision left it.
            messages.success(
                request,
                f"Review completed: {review.decision_label}. "
                f"The relationship is now in {review.relationship.get_stage_display()}.",
            )
            if request.htmx:
                return HttpResponseClientRedirect(review.get_absolute_url())
            return redirect(review.get_absolute_url())
    else:
        # Show the decision rules beside the field errors, all in one round trip.
        for problem in services.review_completion_problems(
            review=review,
            ratings={},
            decision=request.POST.get("decision", ""),
            decision_note=request.POST.get("decision_note", ""),
        ):
            if problem.field in ("decision", "decision_note") and problem.field not in form.errors:
                form.add_error(problem.field, problem.message)
    context = _detail_context(request, review, form)
    if request.htmx:
        return _vary(render(request, "reviews/detail.html#complete-form", context))
    return _vary(render(request, "reviews/detail.html", context, status=400))


@require_POST
def ask_reviewer(request: HttpRequest, pk: int) -> HttpResponse:
    review = selectors.get_review_for(request.user, pk)
    if not permissions.may_change_relationship(request.user, review.relationship):
        raise Http404("No such review")
    form = AskReviewerForm(request.POST, queryset=selectors.executives_to_ask())
    if form.is_valid():
        try:
            services.review_ask_reviewer(
                review=review, reviewer=form.cleaned_data["reviewer"], by=request.user
            )
            messages.success(request, f"{form.cleaned_data['reviewer']} is asked to review.")
        except RuleViolation as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "Choose an executive to ask.")
    return redirect(review.get_absolute_url())


@require_GET
def relationship_reviews(request: HtmxHttpRequest, relationship_pk: int) -> HttpResponse:
    """The review history of one relationship: the block the relationship page includes,
    also served as a page of its own (and as the bare partial to HTMX)."""
    relationship = get_relationship_for(request.user, relationship_pk)
    context = relationship_reviews_context(request, relationship)
    template = "reviews/relationship.html"
    if request.htmx and not request.htmx.boosted:
        template = "reviews/_relationship_reviews.html"
    return _vary(render(request, template, context))


def relationship_reviews_context(request: HttpRequest, relationship) -> dict:
    """The context contract of reviews/_relationship_reviews.html (see its header)."""
    return {
        "relationship": relationship,
        "review_history": selectors.relationship_reviews(relationship, timezone.localdate()),
        "may_change_reviews": permissions.may_change_relationship(request.user, relationship),
    }


@require_POST
def start(request: HttpRequest, relationship_pk: int) -> HttpResponse:
    """Open (or bring forward) the relationship's review now."""
    relationship = get_relationship_for(request.user, relationship_pk, write=True)
    try:
        review = services.review_start(relationship=relationship, by=request.user)
    except RuleViolation as error:
        messages.error(request, error.message)
        return redirect("reviews:relationship", relationship_pk=relationship.pk)
    messages.success(request, "The review is open: answer its questions below.")
    return redirect(review.get_absolute_url())


@require_http_methods(["GET", "POST"])
def feedback_request(request: HtmxHttpRequest, relationship_pk: int) -> HttpResponse:
    """Send a feedback request (a survey link) to one of the stakeholder's contacts.

    Sent over HTMX, the form gives way to a confirmation with the survey link to copy and
    the way back to the relationship; sent as a plain POST, the relationship page says so
    in a message that carries the link."""
    relationship = get_relationship_for(request.user, relationship_pk, write=True)
    contacts = services.contacts_for_feedback(relationship)
    form = FeedbackRequestForm(request.POST or None, contacts=contacts)
    context = {"relationship": relationship, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.feedback_request_create(
                relationship=relationship,
                contact=form.cleaned_data["contact"],
                message=form.cleaned_data["message"],
                by=request.user,
            )
        except RuleViolation as error:
            _add_rule_errors(form, error)
        else:
            if request.htmx:
                context.update(sent=sent, relationship_url=relationship.get_absolute_url())
                return _vary(render(request, "reviews/feedback_request.html#request-form", context))
            messages.success(
                request,
                f"Feedback request sent to {sent.contact}: they will receive an e-mail with "
                f"their personal link. To share the survey yourself, copy this link: "
                f"{sent.copy_link}",
            )
            return redirect(relationship)
    template = "reviews/feedback_request.html"
    if request.htmx and request.method == "POST":
        template += "#request-form"
    context["has_contacts"] = contacts.exists()
    return _vary(render(request, template, context))

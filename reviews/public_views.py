"""The stakeholder's feedback page: public (no login), reached by a signed single-use link.

It shows only the request's own wording (who asks, their note, the questions), is rate
limited per address, and answers a tampered, expired or used link with a clear page
(400/410), never a server error.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import RuleViolation
from reviews import services
from reviews.forms import FeedbackAnswerForm
from reviews.ratelimit import too_many

MESSAGES = {
    "invalid": (
        "This link does not work",
        "The link is incomplete or has been changed. Please use the link exactly as it "
        "arrived in your e-mail.",
    ),
    "expired": (
        "This link has expired",
        "Feedback links stay open for a limited time. If you would still like to give "
        "feedback, please reply to the e-mail you received.",
    ),
    "used": (
        "Thank you: your feedback is already in",
        "This link has been used. Each link can be answered once.",
    ),
}


def _problem(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    title, text = MESSAGES[reason]
    return render(
        request,
        "reviews/public/problem.html",
        {"title": title, "text": text, "organisation": services.organisation_name()},
        status=status,
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    if too_many(request, "feedback"):
        response = render(
            request,
            "reviews/public/problem.html",
            {
                "title": "Too many attempts",
                "text": "Please wait a few minutes and open the link again.",
                "organisation": services.organisation_name(),
            },
            status=429,
        )
        response["Retry-After"] = "600"
        return response
    try:
        feedback_request = services.feedback_request_from_token(token)
    except services.FeedbackLinkError as error:
        return _problem(request, error.reason, error.status)

    form = FeedbackAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_response_submit(token=token, **form.cleaned_data)
        except services.FeedbackLinkError as error:
            return _problem(request, error.reason, error.status)
        except RuleViolation as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return render(
                request,
                "reviews/public/thanks.html",
                {"organisation": services.organisation_name()},
            )
    return render(
        request,
        "reviews/public/answer.html",
        {
            "form": form,
            "note": feedback_request.message,
            "organisation": services.organisation_name(),
        },
        status=400 if form.errors else 200,
    )

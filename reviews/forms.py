from __future__ import annotations

from django import forms

from core.limits import FEEDBACK_MESSAGE, LONG_TEXT
from reviews.models import RATING_QUESTIONS, Review

ONE_TO_FIVE = [(n, str(n)) for n in range(1, 6)]
ZERO_TO_TEN = [(n, str(n)) for n in range(0, 11)]


def _rating(label: str, choices=ONE_TO_FIVE, help_text: str = "1 poor … 5 excellent"):
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=int,
        widget=forms.RadioSelect,
        help_text=help_text,
    )


class ReviewCompleteForm(forms.Form):
    """The review's strategic and operational questions. The rules (a reason to end, what
    changes) live in reviews.services.review_complete; the view shows its errors inline."""

    went_well = forms.CharField(
        label="What went well?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=LONG_TEXT,
    )
    went_badly = forms.CharField(
        label="What did not go well?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=LONG_TEXT,
    )
    decision = forms.ChoiceField(
        label="Decision",
        choices=Review.Decision.choices,
        widget=forms.RadioSelect,
        help_text="Grow: back to Build. Change: back to Present. End: the relationship ends.",
    )
    decision_note = forms.CharField(
        label="What changes, or why it ends",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=LONG_TEXT,
        help_text="Required when the decision is change or end.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ratings = {name: _rating(label) for name, label in RATING_QUESTIONS.items()}
        # Ratings first: the form reads as the review's questions in order.
        self.fields = {**ratings, **self.fields}

    def ratings(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in RATING_QUESTIONS}


class AskReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(queryset=None, label="Ask an executive")

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = queryset


class FeedbackRequestForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=None, label="Ask")
    message = forms.CharField(
        label="A short note (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=FEEDBACK_MESSAGE,  # as the API's
        help_text="Shown above the questions. The page shows nothing else about us or them.",
    )

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts


class FeedbackAnswerForm(forms.Form):
    satisfaction = _rating(
        "Overall, how satisfied are you with working with us?",
        ZERO_TO_TEN,
        "0 not at all … 10 extremely",
    )
    responsiveness = _rating("How responsive are we?")
    communication = _rating("How clear is our communication?")
    value = _rating("How much value does the relationship bring you?")
    comment = forms.CharField(
        label="Anything you would like to tell us?",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
    )

"""Input forms for the relationship pages. They parse and validate input only; the services
decide the business rules and the views turn a RuleViolation into an inline error."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, Team, User
from core.errors import RuleViolation
from core.forms import DateInput, limit_text
from core.limits import LONG_TEXT
from core.reference import offer_rows
from relationships.models import Commitment, Interaction, Relationship, Stage, ValueRecord
from stakeholders.models import Contact, Stakeholder

_DATE = DateInput()


def add_rule_error(form: forms.Form, error: RuleViolation) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _manager_choices(current: User | None = None):
    users = User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.ADMIN])
    if current is not None:
        users = users | User.objects.filter(pk=current.pk)
    return users.distinct().order_by("first_name", "last_name", "username")


def _team_choices(user: User, current: Team | None = None):
    if permissions.is_admin(user):
        return Team.objects.order_by("name")
    ids = set(permissions.team_ids(user))
    if current is not None:
        ids.add(current.pk)
    return Team.objects.filter(pk__in=ids).order_by("name")


class _RelationshipFields(forms.ModelForm):
    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        instance_manager = self.instance.manager if self.instance.manager_id else None
        instance_team = self.instance.team if self.instance.team_id else None
        self.fields["manager"].queryset = _manager_choices(instance_manager)
        self.fields["team"].queryset = _team_choices(user, instance_team)
        self.fields["type"].empty_label = "— not chosen yet —"
        self.fields["manager"].empty_label = "— nobody yet —"
        self.fields["purpose"].widget.attrs["rows"] = 3
        limit_text(self, "purpose")


class RelationshipCreateForm(_RelationshipFields):
    class Meta:
        model = Relationship
        fields = [
            "stakeholder",
            "type",
            "manager",
            "team",
            "confidential",
            "is_key",
            "purpose",
            "review_cadence_days",
        ]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["stakeholder"].queryset = Stakeholder.objects.order_by("name")


class RelationshipEditForm(_RelationshipFields):
    # The version the user loaded: relationship_update refuses the save if it moved on.
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Relationship
        fields = [
            "type",
            "manager",
            "team",
            "confidential",
            "is_key",
            "purpose",
            "review_cadence_days",
            "partnering_session_on",
            "partnering_session_notes",
        ]
        widgets = {"partnering_session_on": _DATE}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version
        self.fields["partnering_session_notes"].widget.attrs["rows"] = 3
        limit_text(self, "partnering_session_notes")

    def _post_clean(self) -> None:
        # The service writes the instance; the form only validates the input.
        pass


class TransitionForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices)
    note = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )
    expected_stage = forms.ChoiceField(choices=Stage.choices, required=False)


class InteractionForm(forms.Form):
    occurred_on = forms.DateField(label="Date", widget=_DATE)
    channel = forms.ChoiceField(choices=Interaction.Channel.choices)
    # The limits are the API's and the service's (core.limits): the quick-log once stored an
    # 11,427-character summary the API would have refused.
    summary = forms.CharField(max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    sentiment = forms.TypedChoiceField(
        coerce=int,
        choices=[
            (2, "+2 very positive"),
            (1, "+1"),
            (0, "0 neutral"),
            (-1, "−1"),
            (-2, "−2 very negative"),
        ],
        initial=0,
    )
    participant_users = forms.ModelMultipleChoiceField(
        label="Our people", queryset=User.objects.none(), required=False
    )
    participant_contacts = forms.ModelMultipleChoiceField(
        label="Their people", queryset=Contact.objects.none(), required=False
    )
    is_key_experience = forms.BooleanField(label="Pilot key experience", required=False)
    outcome = forms.ChoiceField(choices=[("", "—"), *Interaction.Outcome.choices], required=False)
    follow_up = forms.CharField(
        label="Follow-up (we promised)", required=False, max_length=LONG_TEXT
    )
    follow_up_due_on = forms.DateField(label="Follow-up due", required=False, widget=_DATE)
    follow_up_owner = forms.ModelChoiceField(
        label="Follow-up owner", queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, relationship: Relationship, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["occurred_on"].initial = timezone.localdate()
        people, rows = team_people(relationship)
        offer_rows(self.fields["participant_users"], people, rows)
        self.fields["follow_up_owner"].empty_label = "— me —"
        offer_rows(self.fields["follow_up_owner"], people, rows)
        self.fields["participant_contacts"].queryset = Contact.objects.filter(
            stakeholder_id=relationship.stakeholder_id
        ).order_by("name")


def team_people(relationship: Relationship) -> tuple[QuerySet, list]:
    """Who may be named on the relationship's records: its team's active members (or its
    manager when it has no team), read once per relationship object."""
    people = (
        User.objects.filter(teams=relationship.team_id, is_active=True)
        if relationship.team_id
        else User.objects.filter(pk=relationship.manager_id)
    ).order_by("first_name", "last_name", "username")
    rows = relationship.__dict__.get("_rapport_team_people")
    if rows is None:
        rows = relationship.__dict__["_rapport_team_people"] = list(people)
    return people, rows


class CommitmentForm(forms.Form):
    direction = forms.ChoiceField(choices=Commitment.Direction.choices)
    description = forms.CharField(max_length=LONG_TEXT)
    due_on = forms.DateField(required=False, widget=_DATE)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, relationship: Relationship, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].empty_label = "— me —"
        offer_rows(self.fields["owner"], *team_people(relationship))


class CommitmentStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Commitment.Status.choices)


class ValueRecordForm(forms.Form):
    recorded_on = forms.DateField(label="Date", widget=_DATE)
    kind = forms.ChoiceField(choices=ValueRecord.Kind.choices)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    unit = forms.CharField(
        max_length=ValueRecord._meta.get_field("unit").max_length,
        required=False,
        help_text="GBP, EUR, hours …",
    )
    note = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["recorded_on"].initial = timezone.localdate()


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int, choices=[(n, f"{n}/5") for n in range(5, 0, -1)], label="Your rating"
    )
    note = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

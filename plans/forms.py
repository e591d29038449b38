"""Input forms: they parse and validate; plans.services writes."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from accounts.models import User
from core.forms import DateInput, limit_text
from plans import selectors
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from relationships.selectors import relationships_visible_to

DATE = DateInput()


class ServiceForm(forms.ModelForm):
    """A ModelForm that only parses: plans.services validates and writes, and its errors
    come back as field errors. (The ModelForm's own model validation would duplicate the
    rules and change the instance before the service has locked it.) Free text is held to
    the API's limit (core.limits)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "description" in self.fields:
            limit_text(self, "description")

    def _post_clean(self):
        pass


def _people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class ObjectiveForm(ServiceForm):
    class Meta:
        model = Objective
        fields = [
            "parent",
            "level",
            "title",
            "description",
            "owner",
            "period",
            "target_date",
            "status",
            "kpi_name",
            "kpi_unit",
            "kpi_baseline",
            "kpi_target",
        ]
        labels = {"parent": "Contributes to (parent objective)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "target_date": DATE}
        help_texts = {
            "kpi_name": "Optional: what you measure, e.g. “Partner-sourced revenue”.",
            "kpi_target": "Required with a KPI; progress runs from the baseline to the target.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Parent choices leave out the objective and its own branch, so a cycle cannot be
        # picked; objective_move refuses one anyway.
        self.fields["parent"].queryset = selectors.objective_choices_excluding_branch(self.instance)
        self.fields["parent"].empty_label = "None: a top of the cascade"
        self.fields["level"].queryset = ObjectiveLevel.objects.all()
        self.fields["owner"].queryset = _people()

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class MoveForm(forms.Form):
    parent = forms.ModelChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        empty_label="None: move to the top of the cascade",
        label="New parent objective",
    )

    def __init__(self, *args, objective: Objective, **kwargs):
        super().__init__(*args, **kwargs)
        # Every objective is offered: the service explains why a descendant is refused.
        self.fields["parent"].queryset = Objective.objects.select_related("level").order_by(
            "level__position", "title"
        )
        self.fields["parent"].initial = objective.parent_id


class DeleteForm(forms.Form):
    children = forms.ChoiceField(
        choices=[
            ("reattach", "Move its sub-objectives up to its parent"),
            ("delete", "Delete the whole branch, sub-objectives included"),
        ],
        widget=forms.RadioSelect,
        initial="reattach",
        label="What happens to its sub-objectives?",
    )


class MeasurementForm(forms.Form):
    measured_on = forms.DateField(label="Measured on", widget=DATE)
    value = forms.DecimalField(max_digits=14, decimal_places=2)
    note = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measured_on"].initial = timezone.localdate


class PlanForm(ServiceForm):
    class Meta:
        model = Plan
        fields = [
            "title",
            "period",
            "owner",
            "start_on",
            "end_on",
            "currency",
            "objectives",
            "description",
        ]
        widgets = {
            "start_on": DATE,
            "end_on": DATE,
            "description": forms.Textarea(attrs={"rows": 3}),
            "objectives": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()
        self.fields["objectives"].queryset = Objective.objects.exclude(
            status=Objective.Status.DROPPED
        ).order_by("level__position", "title")

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("objectives", None)
        return data


class InitiativeForm(ServiceForm):
    class Meta:
        model = Initiative
        fields = [
            "title",
            "objective",
            "owner",
            "people",
            "status",
            "start_on",
            "end_on",
            "planned_hours",
            "spent_hours",
            "planned_budget",
            "spent_budget",
            "currency",
            "relationships",
            "description",
        ]
        labels = {"objective": "Objective served", "people": "People involved"}
        widgets = {
            "start_on": DATE,
            "end_on": DATE,
            "description": forms.Textarea(attrs={"rows": 3}),
            "people": forms.SelectMultiple(attrs={"size": 6}),
            "relationships": forms.SelectMultiple(attrs={"size": 8}),
        }
        help_texts = {"currency": "Three letters; empty uses the plan's currency."}

    def __init__(self, *args, user, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = Objective.objects.exclude(
            status=Objective.Status.DROPPED
        ).order_by("level__position", "title")
        self.fields["objective"].empty_label = "— choose the objective it serves —"
        self.fields["owner"].queryset = _people()
        self.fields["people"].queryset = _people()
        self.fields["people"].required = False
        # Only relationships the user may see are offered (confidential ones of other
        # teams never show); initiative_update keeps links to the hidden ones.
        self.fields["relationships"].queryset = relationships_visible_to(user)
        self.fields["relationships"].required = False
        self.fields["currency"].required = False
        if not self.instance.pk:
            self.fields["currency"].initial = plan.currency
        for name in ("planned_hours", "spent_hours", "planned_budget", "spent_budget"):
            self.fields[name].required = False

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("people", "relationships"):
            data.pop(name, None)
        return data

"""Input forms: they parse and validate; the services in stakeholders.services write."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from core.forms import DateInput, limit_text
from core.limits import LONG_TEXT
from stakeholders.models import Contact, Stakeholder, Value

SCORE_CHOICES = [(n, str(n)) for n in range(1, 6)]


class HttpURLField(forms.URLField):
    """Only http(s) links: anything else (javascript:, data:, ftp:) is refused."""

    default_validators = [URLValidator(schemes=["http", "https"])]


def website_field() -> forms.URLField:
    return HttpURLField(
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="An http:// or https:// address.",
    )


class StakeholderForm(forms.ModelForm):
    values = forms.ModelMultipleChoiceField(
        queryset=Value.objects.filter(active=True),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        required=False,
        label="Values it espouses",
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    website = website_field()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    allow_duplicate = forms.BooleanField(
        required=False, label="This is a different stakeholder — create it anyway"
    )

    class Meta:
        model = Stakeholder
        fields = [
            "kind",
            "name",
            "category",
            "sector",
            "country",
            "website",
            "email",
            "description",
            "values",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, show_allow_duplicate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        limit_text(self, "description")
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            del self.fields["allow_duplicate"]
        elif not show_allow_duplicate:
            # Offered only once the duplicate guard has shown the possible matches.
            self.fields["allow_duplicate"].widget = forms.HiddenInput()

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("values", "version", "allow_duplicate"):
            data.pop(name, None)
        return data


class ContactForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Contact
        fields = ["name", "stakeholder", "role", "email", "phone", "notes"]
        labels = {"stakeholder": "Organisation"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stakeholder"].queryset = Stakeholder.objects.only("id", "name")
        self.fields["stakeholder"].empty_label = "No organisation"
        limit_text(self, "notes")
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class AssessmentForm(forms.Form):
    power = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, initial=3)
    interest = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, initial=3)
    assessed_on = forms.DateField(label="Assessed on", widget=DateInput())
    note = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"].initial = timezone.localdate
        self.fields["assessed_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class MergeForm(forms.Form):
    duplicate = forms.ModelChoiceField(
        queryset=Stakeholder.objects.none(),
        label="Duplicate to merge into this stakeholder",
        help_text="Its relationships, contacts and assessments move here; then it is deleted.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, survivor: Stakeholder, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duplicate"].queryset = Stakeholder.objects.exclude(pk=survivor.pk).only(
            "id", "name"
        )


class ImportForm(forms.Form):
    KIND_CHOICES = [
        ("organisations", "Organisations"),
        ("contacts", "Contacts"),
        ("relationships", "Relationships"),
    ]
    kind = forms.ChoiceField(choices=KIND_CHOICES, label="What the file contains")
    # Empty files reach the importer, which explains every unreadable file the same way.
    file = forms.FileField(
        allow_empty_file=True,
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    dry_run = forms.BooleanField(
        required=False, label="Only check the file (dry run): save nothing"
    )

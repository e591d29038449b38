"""The same text limits at every door: the web forms, the API and the services.

The quick-log once stored an 11,427-character summary that the API refuses (10,000): the
form had no limit. Limits now live in one place (core.limits for free text, the model's
``max_length`` for columns with one): forms and serializers read them, and the services
refuse longer text whoever calls them (the admin, imports, tasks)."""

from __future__ import annotations

import pytest
from django import forms
from django.db import models
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from core.errors import RuleViolation
from core.limits import FEEDBACK_MESSAGE, LONG_TEXT
from plans import api as plans_api
from plans import forms as plans_forms
from plans.models import Initiative, KpiMeasurement, Objective, Plan
from plans.tests.factories import PlanFactory
from relationships import api as relationships_api
from relationships import forms as relationships_forms
from relationships import services
from relationships.models import Commitment, Interaction, Relationship, StageTransition, ValueRecord
from reviews import api as reviews_api
from reviews import forms as reviews_forms
from reviews.models import FeedbackRequest, Review
from stakeholders import api as stakeholders_api
from stakeholders import forms as stakeholders_forms
from stakeholders.models import Assessment, Contact, Stakeholder
from tests.api.conftest import api_error
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db

THE_SUMMARY_OF_THE_BUG_REPORT = 11_427


@pytest.fixture
def owned(team_a, manager_a):
    return RelationshipFactory(team=team_a, manager=manager_a)


def _quick_log(client, relationship, summary: str):
    return client.post(
        reverse("relationships:interaction_new", args=[relationship.pk]),
        {
            "occurred_on": timezone.localdate().isoformat(),
            "channel": "call",
            "summary": summary,
            "sentiment": "0",
        },
    )


def _api_log(api, relationship, summary: str, **extra):
    body = {
        "relationship": relationship.pk,
        "occurred_on": timezone.localdate().isoformat(),
        "channel": "call",
        "summary": summary,
        **extra,
    }
    return api.post("/api/v1/interactions/", body, format="json")


# --- The quick-log and the API agree ---------------------------------------------------------


@pytest.mark.parametrize("length", [LONG_TEXT + 1, THE_SUMMARY_OF_THE_BUG_REPORT])
def test_the_quick_log_refuses_what_the_api_refuses(client, as_user, manager_a, owned, length):
    client.force_login(manager_a)
    web = _quick_log(client, owned, "x" * length)
    assert web.status_code == 200  # the page again, with the error beside the field
    errors = web.context["interaction_form"].errors
    assert errors["summary"] == [
        f"Ensure this value has at most {LONG_TEXT} characters (it has {length})."
    ]
    api = _api_log(as_user(manager_a), owned, "x" * length)
    assert api.status_code == 400
    body = api_error(api)
    assert (body["code"], body["field"]) == ("max_length", "summary")
    assert str(LONG_TEXT) in body["detail"]
    assert not Interaction.objects.exists()


def test_the_quick_log_and_the_api_both_take_text_at_the_limit(client, as_user, manager_a, owned):
    client.force_login(manager_a)
    assert _quick_log(client, owned, "w" * LONG_TEXT).status_code == 302
    assert _api_log(as_user(manager_a), owned, "a" * LONG_TEXT).status_code == 201
    assert sorted(len(s) for s in Interaction.objects.values_list("summary", flat=True)) == [
        LONG_TEXT,
        LONG_TEXT,
    ]


def test_the_quick_log_page_tells_the_browser_the_limit(client, manager_a, owned):
    client.force_login(manager_a)
    page = client.get(owned.get_absolute_url()).content.decode()
    assert f'name="summary" cols="40" rows="2" maxlength="{LONG_TEXT}"' in page


def test_a_follow_up_is_held_to_the_same_limit_on_the_web_and_the_api(
    client, as_user, manager_a, owned
):
    client.force_login(manager_a)
    web = client.post(
        reverse("relationships:interaction_new", args=[owned.pk]),
        {
            "occurred_on": timezone.localdate().isoformat(),
            "channel": "call",
            "summary": "Met",
            "sentiment": "0",
            "follow_up": "f" * (LONG_TEXT + 1),
        },
    )
    assert "follow_up" in web.context["interaction_form"].errors
    api = _api_log(as_user(manager_a), owned, "Met", follow_up={"description": "f" * 10_001})
    assert api.status_code == 400
    assert api_error(api)["field"] == "follow_up.description"
    assert not Interaction.objects.exists() and not Commitment.objects.exists()


# --- The service refuses it whoever calls ---------------------------------------------------


def test_the_service_refuses_a_summary_over_the_limit_from_any_caller(manager_a, owned):
    with pytest.raises(RuleViolation) as refused:
        services.interaction_log(
            relationship=owned,
            by=manager_a,
            occurred_on=timezone.localdate(),
            channel="call",
            summary="s" * THE_SUMMARY_OF_THE_BUG_REPORT,
        )
    assert (refused.value.code, refused.value.field) == ("max_length", "summary")
    assert "10,000" in refused.value.message and "11,427" in refused.value.message
    assert not Interaction.objects.exists()


def test_surrounding_whitespace_does_not_count_as_every_door_strips_it(manager_a, owned):
    interaction = services.interaction_log(
        relationship=owned,
        by=manager_a,
        occurred_on=timezone.localdate(),
        channel="call",
        summary=" " + "s" * LONG_TEXT + "\n",
    )
    assert len(interaction.summary) == LONG_TEXT


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda r, by, text: services.commitment_create(
                relationship=r, by=by, direction="ours", description=text
            ),
            "description",
        ),
        (
            lambda r, by, text: services.value_record_create(
                relationship=r,
                by=by,
                recorded_on=timezone.localdate(),
                kind="qualitative",
                note=text,
            ),
            "note",
        ),
        (lambda r, by, text: services.relationship_rate(relationship=r, by=by, rating=3, note=text),
         "note"),
        (
            lambda r, by, text: services.relationship_update(
                relationship=r, by=by, expected_version=r.version, purpose=text
            ),
            "purpose",
        ),
        (
            lambda r, by, text: services.relationship_transition(
                relationship=r, by=by, to_stage="ended", note=text
            ),
            "note",
        ),
    ],
)  # fmt: skip
def test_every_relationship_service_refuses_free_text_over_the_limit(manager_a, owned, call, field):
    before = Relationship.objects.values().get(pk=owned.pk)
    with pytest.raises(RuleViolation) as refused:
        call(owned, manager_a, "t" * (LONG_TEXT + 1))
    assert (refused.value.code, refused.value.field) == ("max_length", field)
    assert Relationship.objects.values().get(pk=owned.pk) == before
    assert not Commitment.objects.exists() and not ValueRecord.objects.exists()
    assert not StageTransition.objects.exists()


# --- Every form and its API twin have the same limits ---------------------------------------


def _limit_of(model: type[models.Model], name: str) -> int:
    """What a model field's text may hold: its max_length, or LONG_TEXT for a TextField
    (FeedbackRequest.message: the survey note's own limit)."""
    if (model, name) == (FeedbackRequest, "message"):
        return FEEDBACK_MESSAGE
    field = model._meta.get_field(name)
    return field.max_length if isinstance(field, models.CharField) else LONG_TEXT


def _forms(team_a, manager_a) -> dict[str, forms.BaseForm]:
    relationship = RelationshipFactory(team=team_a, manager=manager_a)
    plan = PlanFactory(owner=manager_a)
    return {
        "interaction": relationships_forms.InteractionForm(relationship=relationship),
        "commitment": relationships_forms.CommitmentForm(relationship=relationship),
        "value_record": relationships_forms.ValueRecordForm(),
        "transition": relationships_forms.TransitionForm(),
        "rating": relationships_forms.RatingForm(),
        "relationship_create": relationships_forms.RelationshipCreateForm(user=manager_a),
        "relationship_edit": relationships_forms.RelationshipEditForm(
            instance=relationship, user=manager_a
        ),
        "stakeholder": stakeholders_forms.StakeholderForm(),
        "contact": stakeholders_forms.ContactForm(),
        "assessment": stakeholders_forms.AssessmentForm(),
        "objective": plans_forms.ObjectiveForm(),
        "measurement": plans_forms.MeasurementForm(),
        "plan": plans_forms.PlanForm(),
        "initiative": plans_forms.InitiativeForm(user=manager_a, plan=plan),
        "review": reviews_forms.ReviewCompleteForm(),
        "feedback_request": reviews_forms.FeedbackRequestForm(contacts=Contact.objects.none()),
    }


# (form, its API input serializer, the model it writes, {form field: serializer field} where
# the names differ)
PAIRS = [
    ("interaction", relationships_api.InteractionInputSerializer, Interaction, {}),
    ("interaction", relationships_api.FollowUpSerializer, Commitment,
     {"follow_up": "description"}),
    ("commitment", relationships_api.CommitmentInputSerializer, Commitment, {}),
    ("value_record", relationships_api.ValueRecordInputSerializer, ValueRecord, {}),
    ("transition", relationships_api.TransitionInputSerializer, StageTransition, {}),
    ("rating", relationships_api.RatingInputSerializer, Relationship, {}),
    ("relationship_create", relationships_api.RelationshipCreateSerializer, Relationship, {}),
    ("relationship_edit", relationships_api.RelationshipUpdateSerializer, Relationship, {}),
    ("stakeholder", stakeholders_api.StakeholderCreateSerializer, Stakeholder, {}),
    ("stakeholder", stakeholders_api.StakeholderUpdateSerializer, Stakeholder, {}),
    ("contact", stakeholders_api.ContactInputSerializer, Contact, {}),
    ("contact", stakeholders_api.ContactUpdateSerializer, Contact, {}),
    ("assessment", stakeholders_api.AssessmentInputSerializer, Assessment, {}),
    ("objective", plans_api.ObjectiveInputSerializer, Objective, {}),
    ("measurement", plans_api.MeasurementInputSerializer, KpiMeasurement, {}),
    ("plan", plans_api.PlanInputSerializer, Plan, {}),
    ("initiative", plans_api.InitiativeInputSerializer, Initiative, {}),
    ("initiative", plans_api.InitiativeUpdateSerializer, Initiative, {}),
    ("review", reviews_api.ReviewCompleteSerializer, Review, {}),
    ("feedback_request", reviews_api.FeedbackRequestInputSerializer, FeedbackRequest, {}),
]  # fmt: skip

# Model field names where the serializer's name is not the model's.
MODEL_FIELD = {(Relationship, "note"): "manager_rating_note"}


def _text_fields(form: forms.BaseForm) -> dict[str, forms.CharField]:
    return {
        name: field
        for name, field in form.fields.items()
        if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.HiddenInput)
    }


def test_every_web_form_and_its_api_twin_hold_text_to_the_same_limit(team_a, manager_a):
    built = _forms(team_a, manager_a)
    compared, problems = 0, []
    for form_name, serializer_class, model, renamed in PAIRS:
        form_fields = _text_fields(built[form_name])
        serializer_fields = serializer_class().fields
        for form_field, field in form_fields.items():
            api_name = renamed.get(form_field, form_field)
            api_field = serializer_fields.get(api_name)
            if not isinstance(api_field, serializers.CharField) or isinstance(
                api_field,
                serializers.RegexField,  # its pattern fixes the length (currency)
            ):
                continue
            limit = _limit_of(model, MODEL_FIELD.get((model, api_name), api_name))
            # The browser is told too (maxlength), as the form's validation says.
            shown = int(field.widget.attrs.get("maxlength", 0))
            sides = {"form": field.max_length, "browser": shown, "api": api_field.max_length}
            if set(sides.values()) != {limit}:
                problems.append(
                    f"{form_name}.{form_field} / {serializer_class.__name__}."
                    f"{api_name}: {sides}, the limit is {limit}"
                )
            compared += 1
    assert not problems, "\n".join(problems)
    assert compared >= 30


def _unlimited_text(schema: dict, where: str) -> list[str]:
    """Text properties of a request schema with no maxLength (enums, dates, numbers as
    text and patterns fix their own length)."""
    if "oneOf" in schema:
        return [found for option in schema["oneOf"] for found in _unlimited_text(option, where)]
    kind = schema.get("type")
    if kind == "object":
        return [
            found
            for name, prop in schema.get("properties", {}).items()
            for found in _unlimited_text(prop, f"{where}.{name}")
        ]
    if kind == "array":
        return _unlimited_text(schema.get("items", {}), f"{where}[]")
    if kind == "string" and not {"enum", "format", "pattern", "maxLength"} & set(schema):
        return [where]
    return []


def test_no_api_input_takes_text_without_a_limit():
    """Every text property of every request body in the OpenAPI document has a maxLength:
    no door without a limit, and the document says what it is."""
    from drf_spectacular.generators import SchemaGenerator

    from tests.api.test_error_schema import _resolve

    document = SchemaGenerator().get_schema(request=None, public=True)
    unlimited, bodies = [], 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                bodies += 1
                schema = _resolve(content["schema"], document)
                unlimited += _unlimited_text(schema, f"{method.upper()} {path}")
    assert bodies > 30
    assert not unlimited, unlimited

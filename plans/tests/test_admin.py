"""The cascade's admin saves through plans.services: the cycle check and the date rules hold
there too, each save records its event, and KPI measurements are only shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Event
from plans import services
from plans.models import KpiMeasurement
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from tests.admin_forms import admin_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _change(model: str, pk: int) -> str:
    return reverse(f"admin:plans_{model}_change", args=[pk])


def test_an_objective_edited_in_the_admin_records_its_event(admin_client, admin_user):
    objective = ObjectiveFactory(title="Grow", status="draft")
    response = admin_post(admin_client, _change("objective", objective.pk), status="active")
    assert response.status_code == 302
    objective.refresh_from_db()
    assert objective.status == "active"
    event = Event.objects.get()
    assert (event.verb, event.actor, event.via) == ("objective.updated", admin_user, "admin")
    assert event.data == {"changes": {"status": ["draft", "active"]}}


def test_moving_an_objective_under_its_own_child_in_the_admin_is_refused(admin_client):
    parent = ObjectiveFactory(title="Parent")
    child = ObjectiveFactory(title="Child", parent=parent)
    response = admin_post(
        admin_client, _change("objective", parent.pk), parent=str(child.pk), title="Renamed"
    )
    assert response.status_code == 200
    assert "its own sub-objectives" in response.content.decode()
    parent.refresh_from_db()
    assert (parent.parent_id, parent.title) == (None, "Parent")
    assert not Event.objects.exists()


def test_kpi_measurements_are_shown_not_written_in_the_admin(admin_client, manager_a):
    objective = ObjectiveFactory(kpi_name="Partners", kpi_target=Decimal(10))
    measurement = services.kpi_measurement_record(
        objective=objective, measured_on=objective.created_at.date(), value=Decimal(3), by=manager_a
    )
    assert admin_client.get(reverse("admin:plans_kpimeasurement_add")).status_code == 403
    url = _change("kpimeasurement", measurement.pk)
    assert admin_client.post(url, {"value": "9"}).status_code == 403
    assert KpiMeasurement.objects.get().value == 3
    # The objective's page lists them, and saving it leaves them as they are.
    response = admin_post(admin_client, _change("objective", objective.pk), title="Partners")
    assert response.status_code == 302
    assert KpiMeasurement.objects.get().value == 3


def test_plans_and_initiatives_are_saved_through_their_services(admin_client, admin_user):
    plan = PlanFactory(period="FY2027")
    initiative = InitiativeFactory(plan=plan, status="active")
    assert admin_post(admin_client, _change("plan", plan.pk), period="FY2028").status_code == 302
    assert (
        admin_post(admin_client, _change("initiative", initiative.pk), status="done").status_code
        == 302
    )
    assert list(Event.objects.order_by("id").values_list("verb", "via")) == [
        ("plan.updated", "admin"),
        ("initiative.updated", "admin"),
    ]
    refused = admin_post(
        admin_client, _change("plan", plan.pk), start_on="2027-01-01", end_on="2026-01-01"
    )
    assert refused.status_code == 200
    plan.refresh_from_db()
    assert plan.start_on.isoformat() != "2027-01-01"
    assert Event.objects.count() == 2

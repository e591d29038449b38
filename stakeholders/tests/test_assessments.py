from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stakeholders import services
from stakeholders.models import Assessment
from tests.factories import StakeholderFactory

pytestmark = pytest.mark.django_db


def _assess(client, stakeholder, **data):
    payload = {"power": 3, "interest": 3, "assessed_on": timezone.localdate().isoformat()}
    payload.update(data)
    return client.post(reverse("stakeholders:assess", args=[stakeholder.pk]), payload)


def test_a_new_assessment_keeps_the_old_one_and_becomes_current(client, manager_a):
    stakeholder = StakeholderFactory(name="Acme")
    last_month = timezone.localdate() - timedelta(days=30)
    services.assessment_record(
        stakeholder=stakeholder, by=manager_a, power=2, interest=1, assessed_on=last_month
    )
    client.force_login(manager_a)
    response = _assess(client, stakeholder, power=5, interest=4, note="Board seat")
    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert (stakeholder.power, stakeholder.interest) == (5, 4)
    assert list(Assessment.objects.values_list("power", "interest")) == [(5, 4), (2, 1)]
    body = client.get(stakeholder.get_absolute_url()).content.decode()
    assert "2 → 5" in body  # where it was → where it is now
    assert "1 → 4" in body


def test_an_older_assessment_does_not_replace_the_current_one(manager_a):
    stakeholder = StakeholderFactory()
    services.assessment_record(stakeholder=stakeholder, by=manager_a, power=4, interest=4)
    services.assessment_record(
        stakeholder=stakeholder,
        by=manager_a,
        power=1,
        interest=1,
        assessed_on=timezone.localdate() - timedelta(days=90),
    )
    stakeholder.refresh_from_db()
    assert (stakeholder.power, stakeholder.interest) == (4, 4)


def test_htmx_assessment_returns_the_panel_with_errors_and_saves_nothing(client, manager_a):
    stakeholder = StakeholderFactory()
    client.force_login(manager_a)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("stakeholders:assess", args=[stakeholder.pk]),
        {"power": 9, "interest": 3, "assessed_on": tomorrow},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="id_power_error"' in body
    assert not Assessment.objects.exists()


def test_htmx_assessment_swaps_in_the_updated_panel(client, manager_a):
    stakeholder = StakeholderFactory()
    client.force_login(manager_a)
    response = client.post(
        reverse("stakeholders:assess", args=[stakeholder.pk]),
        {"power": 4, "interest": 2, "assessed_on": timezone.localdate().isoformat()},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "power <strong>4</strong>/5" in body


def test_a_future_assessment_is_refused_with_the_reason(client, manager_a):
    stakeholder = StakeholderFactory()
    client.force_login(manager_a)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = _assess(client, stakeholder, assessed_on=tomorrow)
    assert "cannot be in the future" in response.content.decode()
    assert not Assessment.objects.exists()


def test_a_contributor_cannot_assess(client, contributor_a):
    stakeholder = StakeholderFactory()
    client.force_login(contributor_a)
    assert _assess(client, stakeholder).status_code == 403
    assert not Assessment.objects.exists()

from __future__ import annotations

import pytest
from django.urls import reverse

from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value
from tests.factories import StakeholderFactory, ValueFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Category, Value, Stakeholder, Contact, Assessment])
def test_every_model_has_an_admin_page(client, admin_user, model):
    client.force_login(admin_user)
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_changing_a_weight_in_the_admin_recomputes_value_fit(client, admin_user):
    honesty = ValueFactory(name="Honesty", weight=1)
    loyalty = ValueFactory(name="Loyalty", weight=1)
    stakeholder = StakeholderFactory()
    stakeholder.values.add(honesty)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:stakeholders_value_change", args=[loyalty.pk]),
        {"name": "Loyalty", "description": "", "weight": 3, "active": "on"},
    )
    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 25


def test_a_stakeholder_page_in_the_admin_has_its_history(client, admin_user):
    stakeholder = StakeholderFactory()
    client.force_login(admin_user)
    url = reverse("admin:stakeholders_stakeholder_history", args=[stakeholder.pk])
    assert client.get(url).status_code == 200

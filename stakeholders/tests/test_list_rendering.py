"""What the stakeholder and contact lists render, and what it costs: the category filter is
offered from the reference cache, each row's value fit as a meter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CategoryFactory, ContactFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

LIST = reverse("stakeholders:index")
CONTACTS = reverse("stakeholders:contacts")


@pytest.fixture
def categories():
    donor = CategoryFactory(name="Donor", position=2)
    partner = CategoryFactory(name="Partner", position=1)
    StakeholderFactory(name="Acme", category=partner, value_fit=73)
    ContactFactory(name="Jane", stakeholder=StakeholderFactory(name="Birch", category=donor))
    return donor, partner


@pytest.mark.parametrize("url", [LIST, CONTACTS])
def test_the_category_filter_offers_every_category_in_order_with_the_choice_kept(
    client, contributor_a, categories, url
):
    donor, partner = categories
    client.force_login(contributor_a)
    body = client.get(url, {"category": donor.pk}).content.decode()
    assert body.index(f'<option value="{partner.pk}">Partner</option>') < body.index(
        f'<option value="{donor.pk}" selected>Donor</option>'
    )


@pytest.mark.parametrize("url", [LIST, CONTACTS])
def test_the_category_choices_cost_no_query_once_cached(
    client, contributor_a, categories, django_assert_max_num_queries, url
):
    client.force_login(contributor_a)
    client.get(url)  # reads the categories into the reference cache
    # The user, the countries offered, the count, the page: no category query.
    with django_assert_max_num_queries(4):
        response = client.get(url)
    assert "Partner</option>" in response.content.decode()


def test_each_row_shows_its_value_fit(client, contributor_a, categories):
    client.force_login(contributor_a)
    body = client.get(LIST).content.decode()
    assert (
        '<span class="fw-semibold">73</span><meter class="fit-meter" min="0" max="100" low="40"'
        ' high="69" optimum="100" value="73" title="Value fit 73 of 100">73/100</meter>'
    ) in body

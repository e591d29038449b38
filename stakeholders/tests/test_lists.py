from __future__ import annotations

import pytest
from django.urls import reverse

from stakeholders import services
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("stakeholders:index")
CONTACTS = reverse("stakeholders:contacts")


def _names(response) -> list[str]:
    return [s.name for s in response.context["page"]]


def test_it_requires_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_it_lists_stakeholders_as_a_full_page_for_a_plain_get(client, contributor_a):
    StakeholderFactory(name="Acme Foundation")
    client.force_login(contributor_a)
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert "Acme Foundation" in body
    assert "HX-Request" in response["Vary"]


def test_it_returns_only_the_results_fragment_to_htmx(client, contributor_a):
    StakeholderFactory(name="Acme Foundation")
    client.force_login(contributor_a)
    response = client.get(LIST, {"q": "acme"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "Acme Foundation" in body
    assert "<table" in body
    assert "HX-Request" in response["Vary"]


def test_it_searches_name_sector_country_and_description_ignoring_accents(client, executive):
    StakeholderFactory(name="Société Générale", country="France")
    StakeholderFactory(name="Green Farms", sector="Agriculture")
    StakeholderFactory(name="Quiet Org", description="Runs a food bank")
    client.force_login(executive)
    assert _names(client.get(LIST, {"q": "societe"})) == ["Société Générale"]
    assert _names(client.get(LIST, {"q": "agricult"})) == ["Green Farms"]
    assert _names(client.get(LIST, {"q": "FOOD"})) == ["Quiet Org"]
    assert _names(client.get(LIST, {"q": "france"})) == ["Société Générale"]


def test_it_filters_by_category_kind_fit_band_and_country(client, executive):
    donor = CategoryFactory(name="Donor")
    StakeholderFactory(name="A", category=donor, country="Kenya", value_fit=80)
    StakeholderFactory(name="B", kind="individual", country="Kenya", value_fit=50)
    StakeholderFactory(name="C", country="Peru", value_fit=10)
    client.force_login(executive)
    assert _names(client.get(LIST, {"category": donor.pk})) == ["A"]
    assert _names(client.get(LIST, {"kind": "individual"})) == ["B"]
    assert _names(client.get(LIST, {"fit": "high"})) == ["A"]
    assert _names(client.get(LIST, {"fit": "medium"})) == ["B"]
    assert _names(client.get(LIST, {"fit": "low"})) == ["C"]
    assert _names(client.get(LIST, {"country": "Kenya"})) == ["A", "B"]
    assert _names(client.get(LIST, {"country": "Kenya", "kind": "organisation"})) == ["A"]


def test_it_sorts_by_value_fit_computed_from_weighted_values(client, executive, admin_user):
    honesty = ValueFactory(name="Honesty", weight=3)
    loyalty = ValueFactory(name="Loyalty", weight=1)
    both = services.stakeholder_create(by=admin_user, name="Both", values=[honesty, loyalty])
    honest = services.stakeholder_create(by=admin_user, name="Honest", values=[honesty])
    loyal = services.stakeholder_create(by=admin_user, name="Loyal", values=[loyalty])
    services.stakeholder_create(by=admin_user, name="None")
    assert (both.value_fit, honest.value_fit, loyal.value_fit) == (100, 75, 25)
    client.force_login(executive)
    assert _names(client.get(LIST, {"sort": "-fit"})) == ["Both", "Honest", "Loyal", "None"]
    assert _names(client.get(LIST, {"sort": "fit"})) == ["None", "Loyal", "Honest", "Both"]
    assert _names(client.get(LIST, {"sort": "-name"})) == ["None", "Loyal", "Honest", "Both"]


def test_value_fit_follows_a_change_of_weights(admin_user):
    honesty = ValueFactory(name="Honesty", weight=1)
    loyalty = ValueFactory(name="Loyalty", weight=1)
    stakeholder = services.stakeholder_create(by=admin_user, name="Org", values=[honesty])
    assert stakeholder.value_fit == 50
    loyalty.weight = 3
    services.value_save(value=loyalty, by=admin_user)
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 25


def test_it_paginates_25_a_page_keeping_the_filters_in_page_links(client, executive):
    for n in range(30):
        StakeholderFactory(name=f"Kenyan {n:02}", country="Kenya")
    client.force_login(executive)
    first = client.get(LIST, {"country": "Kenya"})
    assert len(first.context["page"]) == 25
    assert "?country=Kenya&amp;page=2" in first.content.decode()
    second = client.get(LIST, {"country": "Kenya", "page": 2})
    assert len(second.context["page"]) == 5


def test_it_counts_only_the_relationships_the_user_may_see(
    client, contributor_a, executive, team_b
):
    stakeholder = StakeholderFactory(name="Org")
    RelationshipFactory(stakeholder=stakeholder)
    RelationshipFactory(stakeholder=stakeholder, confidential=True, team=team_b)
    client.force_login(contributor_a)
    assert client.get(LIST).context["page"][0].relationship_count == 1
    client.force_login(executive)
    assert client.get(LIST).context["page"][0].relationship_count == 2


def _stakeholders(count: int) -> None:
    for n in range(count):
        stakeholder = StakeholderFactory(name=f"Org {n:03}", value_fit=n % 100)
        RelationshipFactory(stakeholder=stakeholder)
        ContactFactory(stakeholder=stakeholder)


@pytest.mark.parametrize("rows", [30, 60])
def test_the_stakeholder_list_runs_a_constant_number_of_queries(
    client, manager_a, django_assert_max_num_queries, rows
):
    _stakeholders(rows)
    client.force_login(manager_a)
    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"sort": "-fit"})
    assert len(response.context["page"]) == 25


@pytest.mark.parametrize("rows", [30, 60])
def test_the_contact_list_runs_a_constant_number_of_queries(
    client, manager_a, django_assert_max_num_queries, rows
):
    _stakeholders(rows)
    client.force_login(manager_a)
    with django_assert_max_num_queries(10):
        response = client.get(CONTACTS)
    assert len(response.context["page"]) == 25


def test_the_contact_list_searches_and_answers_htmx_with_a_fragment(client, contributor_a):
    ContactFactory(name="Jane Doe", role="Director", stakeholder=StakeholderFactory(name="Acme"))
    ContactFactory(name="John Roe")
    client.force_login(contributor_a)
    plain = client.get(CONTACTS, {"q": "director"})
    assert [c.name for c in plain.context["page"]] == ["Jane Doe"]
    assert "<html" in plain.content.decode()
    fragment = client.get(CONTACTS, {"q": "acme"}, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body
    assert "Jane Doe" in body
    assert "John Roe" not in body


def test_it_escapes_a_script_in_a_name_on_lists_and_detail(client, contributor_a):
    stakeholder = StakeholderFactory(name="<script>alert(1)</script>")
    ContactFactory(stakeholder=stakeholder, name="<img src=x onerror=alert(1)>")
    client.force_login(contributor_a)
    for url in (
        LIST,
        CONTACTS,
        reverse("stakeholders:detail", args=[stakeholder.pk]),
    ):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<img src=x" not in body
    body = client.get(LIST).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_filter_form_shows_the_chosen_filters_and_sort(client, executive):
    donor = CategoryFactory(name="Donor")
    StakeholderFactory(name="A", category=donor, country="Kenya")
    client.force_login(executive)
    body = client.get(
        LIST, {"sort": "-fit", "country": "Kenya", "category": donor.pk, "q": "a&b"}
    ).content.decode()
    assert '<option value="-fit" selected>' in body
    assert '<option value="Kenya" selected>' in body
    assert f'<option value="{donor.pk}" selected>' in body
    assert 'value="a&amp;b"' in body

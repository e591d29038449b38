"""The command palette's list (core.views.palette): records the user may see, and the actions
their role may use."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from core.palette import ACTIONS
from plans.tests.factories import PlanFactory
from tests.factories import ContactFactory, RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

URL = reverse("search_palette")


def palette(client, user, q: str = "", **params) -> str:
    client.force_login(user)
    response = client.get(URL, {"q": q, **params}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def option_labels(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", label).strip()
        for label in re.findall(r'class="palette-option-label">([^<]*)<', html)
    ]


def option_urls(html: str) -> list[str]:
    return re.findall(r'role="option" id="[^"]+" href="([^"]+)"', html)


@pytest.fixture
def world(team_a, team_b, manager_b):
    heron = StakeholderFactory(name="Heron Logistics")
    return {
        "open": RelationshipFactory(stakeholder=heron, team=team_b, stage="build"),
        "team_a": RelationshipFactory(
            stakeholder=StakeholderFactory(name="Heron Housing"), team=team_a, stage="present"
        ),
        "secret": RelationshipFactory(
            stakeholder=StakeholderFactory(name="Egret Holdings"),
            team=team_b,
            manager=manager_b,
            confidential=True,
            purpose="Heron takeover",
            stage="build",
        ),
        "contact": ContactFactory(name="Harriet Heron", role="Buyer", stakeholder=heron),
        "plan": PlanFactory(title="Heron growth plan", period="FY2027"),
    }


def test_it_finds_stakeholders_relationships_contacts_and_plans(client, manager_a, world):
    html = palette(client, manager_a, "heron")
    urls = option_urls(html)
    for record in ("open", "team_a", "contact", "plan"):
        assert world[record].get_absolute_url() in urls, record
    assert world["open"].stakeholder.get_absolute_url() in urls
    assert "Heron growth plan (FY2027)" in option_labels(html)
    # A way to every match, beyond the few listed.
    assert f"{reverse('search')}?q=heron" in urls
    assert 'role="listbox"' in html and "<html" not in html


def test_every_option_has_a_unique_id_for_aria_activedescendant(client, admin_user, world):
    html = palette(client, admin_user, "heron")
    ids = re.findall(r'role="option" id="([^"]+)"', html)
    assert len(ids) > 5
    assert len(ids) == len(set(ids))


# Who may see team B's confidential relationship (found by its purpose, "Heron takeover").
@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("manager_a", False),
        ("contributor_a", False),
        ("manager_b", True),
        ("executive", True),
        ("admin_user", True),
    ],
)
@pytest.mark.parametrize("mode", ["", "log"])
def test_a_confidential_relationship_shows_only_to_those_who_may_see_it(
    client, request, world, persona, sees, mode
):
    user = request.getfixturevalue(persona)
    # In "log" mode too: those who see it may log on it (executives, who log nothing, get
    # the ordinary list).
    html = palette(client, user, "takeover", mode=mode)
    secret = world["secret"].get_absolute_url()
    assert (secret in html) is sees
    assert ("Egret Holdings" in html) is sees  # by its purpose: the stakeholder did not match


@pytest.mark.parametrize(
    ("persona", "offered", "withheld"),
    [
        (
            "contributor_a",
            {"Dashboard", "Go to board", "Log interaction…", "Keyboard shortcuts"},
            {"New stakeholder", "Import stakeholders", "New plan", "What changed", "Webhooks"},
        ),
        (
            "manager_a",
            {"New stakeholder", "New relationship", "Import stakeholders", "What changed"},
            {"Webhooks", "Security log"},
        ),
        (
            "executive",
            {"Dashboard", "What changed"},
            {"Log interaction…", "New stakeholder", "Import stakeholders", "Webhooks"},
        ),
        (
            "admin_user",
            {"Log interaction…", "New plan", "Import stakeholders", "Webhooks", "Security log"},
            set(),
        ),
    ],
)
def test_actions_are_offered_only_to_roles_that_may_use_them(
    client, request, persona, offered, withheld
):
    labels = set(option_labels(palette(client, request.getfixturevalue(persona))))
    assert offered <= labels
    assert not withheld & labels


@pytest.mark.parametrize("persona", ["contributor_a", "manager_a", "executive", "admin_user"])
def test_every_action_offered_opens_for_that_role(client, request, persona):
    """The rules the palette asks are the views' own: nothing it offers answers 403 or 404."""
    html = palette(client, request.getfixturevalue(persona))
    urls = option_urls(html)
    assert len(urls) >= 10
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_nothing_typed_offers_every_action_and_reads_no_records(
    client, manager_a, world, django_assert_num_queries
):
    client.force_login(manager_a)
    client.get(URL)  # the session and team ids are cached from here on
    with django_assert_num_queries(1):  # the user (the session is cached): no search at all
        html = client.get(URL, headers={"HX-Request": "true"}).content.decode()
    labels = option_labels(html)
    assert labels[:4] == ["Home", "Dashboard", "Go to board", "Stakeholders"]
    assert "Heron Logistics" not in html


@pytest.mark.parametrize(
    ("typed", "first"),
    [("dash", "Dashboard"), ("new st", "New stakeholder"), ("IMPORT", "Import stakeholders")],
)
def test_actions_are_found_by_the_start_of_their_words(client, manager_a, typed, first):
    labels = option_labels(palette(client, manager_a, typed))
    assert labels[0] == first
    assert "Home" not in labels


def test_log_mode_lists_the_relationships_the_user_may_log_on(client, contributor_a, team_a, world):
    ended = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Heron Ended"), team=team_a, stage="ended"
    )
    html = palette(client, contributor_a, "heron", mode="log")
    urls = option_urls(html)
    # Team A's active relationship opens its quick-log form; team B's (visible, not theirs
    # to log on) and an ended one are not offered, nor anything but relationships.
    assert urls == [world["team_a"].get_absolute_url() + "#quick-log"]
    assert ended.get_absolute_url() not in html
    assert "Log an interaction with" in html


def test_log_mode_asks_for_a_name_first(client, contributor_a):
    html = palette(client, contributor_a, "", mode="log")
    assert option_urls(html) == []
    assert "Type the stakeholder&#x27;s name" in html


def test_the_list_query_count_does_not_grow_with_matches(
    client, manager_a, team_a, django_assert_num_queries
):
    for n in range(20):
        stakeholder = StakeholderFactory(name=f"Heron {n}")
        RelationshipFactory(stakeholder=stakeholder, team=team_a)
        ContactFactory(name=f"Heron Contact {n}", stakeholder=stakeholder)
        PlanFactory(title=f"Heron plan {n}")
    client.force_login(manager_a)
    client.get(URL, {"q": "heron"})  # the session and team ids are cached from here on
    # The user (the session is cached); stakeholders, contacts, relationship types,
    # relationships (core.search) and plans.
    with django_assert_num_queries(6):
        html = client.get(URL, {"q": "heron"}).content.decode()
    assert len(option_urls(html)) == 5 * 4 + 1  # five of each kind, and "search everything"


@pytest.mark.parametrize("query", ["a", "x" * 5000, "'; DROP TABLE x; --", "<script>", "--"])
def test_odd_queries_never_fail(client, manager_a, query):
    html = palette(client, manager_a, query)
    assert "<script>" not in html


def test_the_palette_is_for_signed_in_users(client):
    response = client.get(URL, {"q": "heron"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_every_action_names_a_route():
    for action in ACTIONS:
        assert reverse(action.url_name)

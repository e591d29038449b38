"""Keyboard first (issue #16), in a real browser: the command palette, the quick-log form's
keys, the shortcuts help and the "g then a letter" shortcuts."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from relationships.models import Interaction
from tests.browser.fixtures import sign_in
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def signed_in(page, username: str = "manager_a") -> None:
    sign_in(page, username, TEST_PASSWORD)
    page.wait_for_url("**/")


def focused(page, script: str = "el => el.id") -> str:
    return page.evaluate(f"({script})(document.activeElement)")


def options(page):
    return page.locator("#palette-listbox [role=option]")


def type_in_palette(page, text: str) -> None:
    page.locator("#palette-input").press_sequentially(text)
    # The list has caught up with what was typed once it offers to search for it.
    expect(page.locator("#palette-search-all")).to_contain_text(text)


def test_ctrl_k_opens_the_palette_and_the_arrows_and_enter_open_a_result(page, manager_a, team_a):
    StakeholderFactory(name="Kestrel Community Trust")
    housing = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Kestrel Housing"), team=team_a, stage="build"
    )
    signed_in(page)

    page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="Jump to")
    expect(dialog).to_be_visible()
    assert dialog.get_attribute("aria-modal") == "true"
    assert focused(page) == "palette-input"
    # With nothing typed it offers the actions.
    expect(options(page).first).to_contain_text("Home")

    type_in_palette(page, "Kestrel")
    expect(options(page).nth(0)).to_contain_text("Kestrel Community Trust")
    expect(options(page).nth(1)).to_contain_text("Kestrel Housing")
    combobox = page.get_by_role("combobox")
    first_id = options(page).nth(0).get_attribute("id")
    assert combobox.get_attribute("aria-activedescendant") == first_id
    assert options(page).nth(0).get_attribute("aria-selected") == "true"

    page.keyboard.press("ArrowDown")
    second = options(page).nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    assert combobox.get_attribute("aria-activedescendant") == second.get_attribute("id")
    page.keyboard.press("ArrowDown")  # the relationship
    expect(options(page).nth(2)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{housing.get_absolute_url()}")
    assert page.console_errors == []


def test_a_managers_palette_never_shows_another_teams_confidential_relationship(
    page, manager_a, manager_b, team_b
):
    secret = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Osprey Holdings"),
        team=team_b,
        manager=manager_b,
        confidential=True,
        stage="build",
    )
    visible = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Osprey Freight"), team=team_b, stage="build"
    )
    signed_in(page)
    page.keyboard.press("Control+k")
    type_in_palette(page, "Osprey")

    hrefs = [options(page).nth(i).get_attribute("href") for i in range(options(page).count())]
    assert visible.get_absolute_url() in hrefs
    assert secret.get_absolute_url() not in hrefs
    # The registry is shared: the stakeholder is listed, the relationship with it is not.
    relationships = page.get_by_role("group", name="Relationships")
    expect(relationships).to_contain_text("Osprey Freight")
    expect(relationships).not_to_contain_text("Osprey Holdings")
    assert page.console_errors == []


def test_escape_closes_the_palette_and_gives_focus_back(page, manager_a):
    signed_in(page)
    search = page.get_by_role("searchbox", name="Search stakeholders, contacts and relationships")
    search.focus()
    page.keyboard.press("Control+k")  # works from a text field too
    expect(page.locator("#palette")).to_be_visible()
    # Focus stays in the dialog: Tab goes round its own controls.
    page.keyboard.press("Tab")
    assert focused(page) == "palette-input"
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "palette-input"
    page.keyboard.press("Escape")
    expect(page.locator("#palette")).to_be_hidden()
    assert focused(page, "el => el.getAttribute('name')") == "q"  # the search box again

    # For the mouse and touch: the top bar's button, which gets focus back in turn.
    button = page.get_by_role("button", name="Jump to…")
    button.click()
    expect(page.locator("#palette")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#palette")).to_be_hidden()
    assert focused(page, "el => el.hasAttribute('data-palette-open')")
    assert page.console_errors == []


def test_log_interaction_from_the_palette_opens_the_quick_log_form(page, manager_a, team_a):
    relationship = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Heron Logistics"),
        manager=manager_a,
        team=team_a,
        stage="build",
    )
    signed_in(page)
    page.keyboard.press("Control+k")
    type_in_palette(page, "log")
    expect(options(page).first).to_contain_text("Log interaction…")
    page.keyboard.press("Enter")
    expect(page.locator("#palette-mode-label")).to_be_visible()
    page.locator("#palette-input").press_sequentially("heron")
    expect(options(page).first).to_contain_text("Heron Logistics")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{relationship.get_absolute_url()}#quick-log")
    expect(page.locator("#quick-log [name=summary]")).to_be_focused()
    assert page.console_errors == []


def test_the_quick_log_form_focuses_its_summary_logs_on_ctrl_enter_and_keeps_the_channel(
    page, manager_a, team_a
):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    signed_in(page)
    # The home page's "Log interaction" link leads to the form: its summary has focus.
    page.goto(relationship.get_absolute_url() + "#quick-log")
    quick_log = page.locator("#quick-log")
    summary = quick_log.get_by_label("Summary")
    expect(summary).to_be_focused()
    expect(quick_log.get_by_label("Channel")).to_have_value("meeting")

    quick_log.get_by_label("Channel").select_option("call")
    summary.fill("Called about the pilot dates")
    summary.press("Control+Enter")
    page.get_by_text("Called about the pilot dates").first.wait_for()
    assert Interaction.objects.get(relationship=relationship).channel == "call"

    # The fresh form htmx swaps in: the summary has focus again, on the channel just used.
    quick_log = page.locator("#quick-log")
    expect(quick_log.get_by_role("status")).to_contain_text("Logged")
    expect(quick_log.get_by_label("Summary")).to_be_focused()
    expect(quick_log.get_by_label("Summary")).to_have_value("")
    expect(quick_log.get_by_label("Channel")).to_have_value("call")

    # Remembered by the server: on a fresh page load too, without the anchor.
    page.goto(relationship.get_absolute_url())
    expect(page.locator("#quick-log").get_by_label("Channel")).to_have_value("call")
    assert page.console_errors == []


def test_question_mark_lists_the_shortcuts(page, manager_a):
    signed_in(page)
    search = page.get_by_role("searchbox", name="Search stakeholders, contacts and relationships")
    search.press("?")  # typed into a field, it is text
    expect(page.locator("#shortcuts")).to_be_hidden()
    assert search.input_value() == "?"

    page.locator("h1").click()
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    for keys in ("Ctrl", "?", "/", "g"):
        expect(help_dialog.locator("kbd", has_text=keys).first).to_be_visible()
    for action in ("home", "dashboard", "board", "stakeholders", "Log it"):
        expect(help_dialog).to_contain_text(action)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("/")
    expect(search).to_be_focused()
    assert page.console_errors == []


def test_g_then_d_goes_to_the_dashboard_and_g_then_s_to_the_stakeholders(
    page, live_server, manager_a
):
    signed_in(page)
    page.keyboard.press("g")
    page.keyboard.press("d")
    page.wait_for_url("**/dashboard/")
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.wait_for_url("**/stakeholders/")
    page.keyboard.press("g")
    page.keyboard.press("h")
    page.wait_for_url(f"{live_server.url}/")
    assert page.console_errors == []


def test_the_open_palette_and_shortcuts_list_have_no_serious_accessibility_violation(
    page, manager_a, team_a
):
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no axe-core at {AXE}: run `make install` (npm ci)")
        pytest.skip(f"no axe-core at {AXE}")
    page.context.add_init_script(path=AXE)  # as test_accessibility does: outside the CSP
    RelationshipFactory(
        stakeholder=StakeholderFactory(name="Kestrel Housing"), team=team_a, stage="build"
    )
    signed_in(page)
    page.keyboard.press("Control+k")
    type_in_palette(page, "Kestrel")
    problems = page.evaluate(RUN_AXE)
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    problems += page.evaluate(RUN_AXE)
    assert problems == []
    assert page.console_errors == []

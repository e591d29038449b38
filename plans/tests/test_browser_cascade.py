"""In a real browser: build a three-level cascade, then a plan whose initiative works on a
relationship, through the pages alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from plans.models import Initiative, Objective, ObjectiveLevel
from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def create_objective(page, level_name: str, title: str) -> None:
    page.get_by_label("Level").select_option(label=level_name)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Status").select_option(label="Active")
    page.get_by_role("button", name="Create objective").click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def test_a_manager_builds_a_cascade_and_a_plan(page, manager_a):
    # A transactional test may have flushed the seeded levels: make sure these exist.
    for position, name in enumerate(
        ["Networking vision", "Strategic objective", "Relationship-management plan"], 1
    ):
        ObjectiveLevel.objects.update_or_create(name=name, defaults={"position": position})
    RelationshipFactory(stakeholder__name="Heron Foods", stage="pilot")
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")

    page.goto("/plans/")
    page.get_by_role("link", name="New objective").click()
    create_objective(page, "Networking vision", "Be the partner of choice")
    page.get_by_role("link", name="Add a sub-objective").click()
    create_objective(page, "Strategic objective", "Grow strategic partnerships")
    page.get_by_role("link", name="Add a sub-objective").click()
    create_objective(page, "Relationship-management plan", "Run a partner programme")
    # The breadcrumb shows the cascade above it.
    breadcrumb = page.get_by_role("navigation", name="breadcrumb")
    assert "Be the partner of choice" in breadcrumb.inner_text()
    assert "Grow strategic partnerships" in breadcrumb.inner_text()

    # The tree: nested, with progress bars, collapsible from the keyboard.
    page.goto("/plans/")
    tree = page.locator("#objective-tree")
    assert tree.locator("progress").count() == 3
    leaf = tree.get_by_role("link", name="Run a partner programme")
    assert leaf.is_visible()
    toggle = tree.get_by_role("button", name="Sub-objectives of Be the partner of choice")
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.focus()
    page.keyboard.press("Enter")
    leaf.wait_for(state="hidden")
    assert toggle.get_attribute("aria-expanded") == "false"

    # One level drawn: the others load when opened (HTMX), one level at a time.
    page.goto("/plans/?depth=1")
    assert tree.locator("progress").count() == 1
    tree.get_by_role("button", name="Sub-objectives of Be the partner of choice").press("Enter")
    nested = tree.get_by_role("button", name="Sub-objectives of Grow strategic partnerships")
    nested.wait_for()
    assert nested.get_attribute("aria-expanded") == "false"
    nested.press("Space")
    leaf.wait_for()
    assert nested.get_attribute("aria-expanded") == "true"
    # Bootstrap ignores a press while the list is still sliding open.
    expect(page.locator(".collapsing")).to_have_count(0)
    nested.press("Enter")  # closing again needs no request
    leaf.wait_for(state="hidden")

    # A plan serving the strategic objective, with an initiative on a relationship.
    page.goto("/plans/list/")
    page.get_by_role("link", name="New plan").click()
    page.get_by_label("Title").fill("Partnerships plan")
    page.get_by_label("Period").fill("FY2027")
    page.get_by_label("Objectives").select_option(label="Grow strategic partnerships")
    page.get_by_role("button", name="Create plan").click()
    page.get_by_role("heading", name=re.compile("Partnerships plan")).wait_for()

    page.get_by_role("link", name="New initiative").click()
    page.get_by_label("Title").fill("Joint pilot with Heron")
    page.get_by_label("Objective served").select_option(label="Run a partner programme")
    page.get_by_label("Planned hours").fill("-5")
    page.get_by_label("Relationships", exact=True).select_option(
        label="Heron Foods (Strategic partner)"
    )
    page.get_by_role("button", name="Create initiative").click()
    # Inline validation, swapped in by HTMX, then corrected.
    page.get_by_text("Planned hours cannot be negative.").wait_for()
    page.get_by_label("Planned hours").fill("40")
    page.get_by_label("Planned budget").fill("5000")
    page.get_by_role("button", name="Create initiative").click()
    page.get_by_role("heading", name="What we are going to do").wait_for()

    initiative = Initiative.objects.get(title="Joint pilot with Heron")
    assert initiative.objective == Objective.objects.get(title="Run a partner programme")
    assert [str(r.stakeholder) for r in initiative.relationships.all()] == ["Heron Foods"]
    row = page.locator(f"#initiative-{initiative.pk}")
    assert "Heron Foods" in row.inner_text()
    assert "40" in page.locator("#total-hours").inner_text()
    assert Objective.objects.get(title="Run a partner programme").parent.parent.title == (
        "Be the partner of choice"
    )
    assert page.console_errors == []

from __future__ import annotations

import pytest

from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manager_signs_in_and_sees_the_home_page(page, manager_a):
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    assert "Good to see you" in page.locator("h1").inner_text()
    page.get_by_role("button", name=f"{manager_a} Relationship manager").click()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # htmx loaded from the package's static files, with nothing blocked by the CSP.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.console_errors == []


def test_the_layout_fits_a_phone(page, manager_a):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    toggler = page.get_by_role("button", name="Toggle navigation")
    assert toggler.is_visible()
    toggler.click()
    # Wait for the menu to finish opening: a click during the animation can miss its target.
    page.locator("#main-nav.show:not(.collapsing)").wait_for()
    page.get_by_role("button", name=f"{manager_a} Relationship manager").click()
    page.get_by_role("button", name="Sign out").wait_for(state="visible")

"""Two-factor authentication in a real browser: turn it on, then sign in with an app code."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def app_code(secret: str, *, at: float) -> str:
    """What an authenticator app set up with ``secret`` (as the page shows it) displays."""
    generator = TOTP(base64.b32decode(secret.replace(" ", "")))
    generator.time = at
    return f"{generator.token():06d}"


def test_a_user_turns_on_two_factor_and_signs_in_with_a_code(page, manager_a):
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/")
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Turn on two-factor authentication").click()
    page.wait_for_url("**/accounts/two-factor/")
    # The QR code loads as an image (the CSP allows data: images): it has a size.
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text()

    page.get_by_label("Code from the app").fill(app_code(secret, at=time.time()))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    page.get_by_text("Two-factor authentication is on.").wait_for()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url("**/accounts/profile/")

    page.context.clear_cookies()  # a new visit: signed out
    sign_in(page, "manager_a", TEST_PASSWORD)
    page.wait_for_url("**/accounts/login/code/")
    # The code used to turn it on can't be used again; the app's next code can (django-otp
    # accepts one step of clock drift either way).
    page.get_by_label("Authentication code").fill(app_code(secret, at=time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")
    assert "Good to see you" in page.locator("h1").inner_text()
    assert page.console_errors == []

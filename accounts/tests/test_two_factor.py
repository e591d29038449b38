from __future__ import annotations

from datetime import UTC, datetime

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken, RecoveryCode, SecurityPolicy
from accounts.twofactor import (
    OTP_REQUIRED_MESSAGE,
    PENDING_SESSION_KEY,
    two_factor_confirm,
    two_factor_setup_start,
)
from security.models import SecurityEvent
from tests.api.conftest import field_errors
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

# A fixed instant a few seconds into a 30-second TOTP step: codes are deterministic, and a
# test moves to the next step (``time_machine.shift(30)``) when it needs a fresh code.
START = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(START, tick=False)


def code_for(device: TOTPDevice) -> str:
    """What the user's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


def enable_two_factor(user) -> tuple[TOTPDevice, list[str]]:
    device = two_factor_setup_start(user=user)
    return two_factor_confirm(user=user, code=code_for(device))


def password_step(client, username: str = "manager_a", next_url: str = ""):
    data = {"username": username, "password": TEST_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def code_step(client, code: str):
    return client.post(reverse("login_verify"), {"code": code})


def kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("id").values_list("kind", flat=True))


# --- Set-up -------------------------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_and_the_key_and_is_never_cached(client, manager_a):
    client.force_login(manager_a)
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    device = TOTPDevice.objects.get(user=manager_a)
    assert not device.confirmed
    assert response.context["secret"].replace(" ", "") in device.config_url
    assert "no-store" in response["Cache-Control"]
    # Reloading keeps the same key: the code from the app already set up still works.
    client.get(reverse("two_factor_setup"))
    assert TOTPDevice.objects.get(user=manager_a).key == device.key


def test_setup_with_a_wrong_code_is_refused(client, manager_a):
    client.force_login(manager_a)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert response.status_code == 400
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=manager_a, confirmed=True).exists()
    assert not RecoveryCode.objects.exists()


def test_setup_with_the_right_code_turns_it_on_and_shows_recovery_codes_once(client, manager_a):
    client.force_login(manager_a)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=manager_a)
    response = client.post(reverse("two_factor_setup"), {"code": code_for(device)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    page = response.content.decode()
    assert all(code in page for code in codes)
    assert 'download="rapport-recovery-codes.txt"' in page
    device.refresh_from_db()
    assert device.confirmed
    # Stored only as hashes, and the plugin's plain-text token table stays empty.
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not any(code.replace("-", "") in hash_ for code in codes for hash_ in stored)
    assert not StaticDevice.objects.get(user=manager_a).token_set.exists()
    # The session that set it up counts as verified by the second factor.
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert kinds()[-1] == "two_factor_enabled"
    # Never shown again: the set-up page now just says it is on.
    again = client.get(reverse("two_factor_setup"), follow=True)
    assert "already on" in again.content.decode()
    assert not any(code in again.content.decode() for code in codes)
    profile = client.get(reverse("profile")).content.decode()
    assert "10 unused recovery codes left" in profile


# --- Signing in ---------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_before_signing_in(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    time_machine.shift(30)
    response = password_step(client)
    assert response.status_code == 302
    assert response.url == reverse("login_verify")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302  # not signed in yet
    page = client.get(reverse("login_verify"))
    assert "Authentication code" in page.content.decode()
    before = client.session.session_key

    response = code_step(client, code_for(device))
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert int(client.session["_auth_user_id"]) == manager_a.pk
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.session.session_key != before  # login() rotated the session
    assert PENDING_SESSION_KEY not in client.session
    assert client.get(reverse("home")).status_code == 200


def test_a_user_without_two_factor_signs_in_with_the_password_alone(client, manager_a):
    response = password_step(client)
    assert response.status_code == 302 and response.url == reverse("home")
    assert int(client.session["_auth_user_id"]) == manager_a.pk


def test_next_is_kept_through_the_code_step(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    time_machine.shift(30)
    password_step(client, next_url=reverse("profile"))
    response = code_step(client, code_for(device))
    assert response.url == reverse("profile")


def test_an_outside_next_is_ignored(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    time_machine.shift(30)
    password_step(client, next_url="https://evil.example/")
    assert code_step(client, code_for(device)).url == reverse("home")


def test_a_wrong_code_gets_a_clear_message_and_does_not_sign_in(client, manager_a, time_machine):
    enable_two_factor(manager_a)
    time_machine.shift(30)
    password_step(client)
    response = code_step(client, "123456")
    assert response.status_code == 400
    page = response.content.decode()
    assert "That code is wrong or was already used" in page
    assert "4 attempts left" in page
    assert "_auth_user_id" not in client.session
    assert kinds()[-1] == "two_factor_failed"


def test_a_quick_retry_after_a_wrong_code_is_told_to_wait(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    time_machine.shift(30)
    password_step(client)
    code_step(client, "123456")
    # django-otp's back-off: even the right code is not checked within a second.
    response = code_step(client, code_for(device))
    assert "Too many wrong codes: wait 1 second," in response.content.decode()
    time_machine.shift(2)
    assert code_step(client, code_for(device)).url == reverse("home")


def test_a_totp_code_is_never_accepted_twice(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    time_machine.shift(30)
    code = code_for(device)
    password_step(client)
    assert code_step(client, code).status_code == 302
    client.post(reverse("logout"))

    time_machine.shift(5)  # same 30-second step: the app still shows the same code
    password_step(client)
    response = code_step(client, code)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_works_once(client, manager_a, time_machine):
    _, codes = enable_two_factor(manager_a)
    password_step(client)
    # However it was copied: upper case, spaces instead of dashes.
    response = code_step(client, codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == manager_a.pk
    static = StaticDevice.objects.get(user=manager_a)
    assert client.session[DEVICE_ID_SESSION_KEY] == static.persistent_id
    assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 1
    assert kinds()[-2:] == ["recovery_code_used", "login"]
    client.post(reverse("logout"))

    time_machine.shift(60)
    password_step(client)
    response = code_step(client, codes[3])
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    time_machine.shift(2)  # django-otp's back-off after a wrong code
    assert code_step(client, codes[4]).status_code == 302  # the others still work


def test_the_pending_sign_in_expires_after_five_minutes(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    password_step(client, next_url=reverse("profile"))
    time_machine.shift(5 * 60 + 1)
    response = code_step(client, code_for(device))
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=%2Faccounts%2Fprofile%2F"
    assert "_auth_user_id" not in client.session
    assert PENDING_SESSION_KEY not in client.session
    followed = client.get(response.url)
    assert "timed out" in followed.content.decode()


def test_five_wrong_codes_abandon_the_sign_in(client, manager_a, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the back-off is tested above; count attempts here
    device, _ = enable_two_factor(manager_a)
    password_step(client)
    for _ in range(4):
        assert code_step(client, "000001").status_code == 400
    response = code_step(client, "000001")
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert PENDING_SESSION_KEY not in client.session
    assert "5 wrong codes" in client.get(response.url).content.decode()
    # The code step is gone: even the right code now needs the password again.
    assert code_step(client, code_for(device)).url == reverse("login")
    assert "_auth_user_id" not in client.session
    # ...and django-axes counted one failed sign-in for this username and address.
    assert AccessAttempt.objects.get(username="manager_a").failures_since_start == 1


def test_axes_lockout_still_applies_to_the_password_step(client, manager_a):
    enable_two_factor(manager_a)
    for _ in range(5):
        client.post(reverse("login"), {"username": "manager_a", "password": "wrong"})
    response = password_step(client)
    assert response.status_code == 429
    assert PENDING_SESSION_KEY not in client.session


def test_the_admin_login_form_cannot_skip_the_code_step(client):
    response = client.get("/admin/login/", {"next": "/admin/"})
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=%2Fadmin%2F"


# --- Recovery codes and turning it off ------------------------------------------------------


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(
    client, manager_a, time_machine
):
    device, old = enable_two_factor(manager_a)
    client.force_login(manager_a)
    time_machine.shift(30)
    refused = client.post(reverse("two_factor_recovery_codes"), {"code": "000000"})
    assert refused.status_code == 400
    time_machine.shift(30)
    response = client.post(reverse("two_factor_recovery_codes"), {"code": code_for(device)})
    assert response.status_code == 200
    new = response.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    client.post(reverse("logout"))
    password_step(client)
    assert code_step(client, old[0]).status_code == 400
    time_machine.shift(2)
    assert code_step(client, new[0]).status_code == 302


def test_turning_it_off_needs_the_password_and_a_code(client, manager_a, time_machine):
    device, _ = enable_two_factor(manager_a)
    client.force_login(manager_a)
    time_machine.shift(30)
    url = reverse("two_factor_disable")
    wrong_password = client.post(url, {"password": "nope", "code": code_for(device)})
    assert "That is not your password" in wrong_password.content.decode()
    no_code = client.post(url, {"password": TEST_PASSWORD, "code": ""})
    assert no_code.status_code == 400
    wrong_code = client.post(url, {"password": TEST_PASSWORD, "code": "000000"})
    assert "That code is wrong" in wrong_code.content.decode()
    assert TOTPDevice.objects.filter(user=manager_a, confirmed=True).exists()

    time_machine.shift(30)
    response = client.post(url, {"password": TEST_PASSWORD, "code": code_for(device)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=manager_a).exists()
    assert not StaticDevice.objects.filter(user=manager_a).exists()
    assert not RecoveryCode.objects.exists()
    assert kinds()[-1] == "two_factor_disabled"
    client.post(reverse("logout"))
    assert password_step(client).url == reverse("home")  # the password alone again


# --- The policy for admins and executives -----------------------------------------------------


@pytest.fixture
def policy_on():
    SecurityPolicy.objects.create(require_two_factor_for_privileged=True)


@pytest.mark.parametrize(
    ("role", "confined"),
    [("admin", True), ("executive", True), ("manager", False), ("contributor", False)],
)
def test_the_policy_confines_admins_and_executives_to_the_setup_page(
    client, policy_on, role, confined
):
    user = UserFactory(username=f"the_{role}", role=role)
    response = password_step(client, user.username)
    assert int(client.session["_auth_user_id"]) == user.pk
    home = client.get(reverse("home"))
    if confined:
        assert home.status_code == 302 and home.url == reverse("two_factor_setup")
        assert client.get(reverse("profile")).url == reverse("two_factor_setup")
        assert client.get("/api/v1/users/").status_code == 403
        assert client.get(reverse("home"), headers={"HX-Request": "true"}).status_code == 403
        setup = client.get(reverse("two_factor_setup"))
        assert setup.status_code == 200
        assert "Your role requires two-factor authentication" in setup.content.decode()
    else:
        assert response.url == reverse("home") and home.status_code == 200


def test_once_set_up_the_confined_user_gets_everything_back(client, policy_on, executive):
    password_step(client, "exec")
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=executive)
    client.post(reverse("two_factor_setup"), {"code": code_for(device)})
    assert client.get(reverse("home")).status_code == 200


def test_switching_the_policy_off_frees_a_confined_user(client, policy_on, executive):
    password_step(client, "exec")
    assert client.get(reverse("home")).status_code == 302
    SecurityPolicy.objects.update(require_two_factor_for_privileged=False)
    assert client.get(reverse("home")).status_code == 200


def test_the_policy_is_off_by_default_so_demo_admins_sign_in_with_a_password(client, admin_user):
    password_step(client, "boss")
    assert client.get(reverse("home")).status_code == 200


def test_the_policy_keeps_a_required_user_from_turning_it_off(
    client, policy_on, executive, time_machine
):
    device, _ = enable_two_factor(executive)
    client.force_login(executive)
    time_machine.shift(30)
    response = client.post(
        reverse("two_factor_disable"), {"password": TEST_PASSWORD, "code": code_for(device)}
    )
    assert "Your role requires two-factor authentication" in response.content.decode()
    assert TOTPDevice.objects.filter(user=executive, confirmed=True).exists()


def test_admins_switch_the_policy_in_the_django_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("admin:accounts_securitypolicy_changelist"))
    assert response.url == reverse("admin:accounts_securitypolicy_change", args=[1])
    client.post(response.url, {"require_two_factor_for_privileged": "on"})
    assert SecurityPolicy.load().require_two_factor_for_privileged
    assert SecurityPolicy.history.first().history_user == admin_user
    assert client.get(reverse("admin:accounts_securitypolicy_add")).status_code == 403


# --- The token endpoint ---------------------------------------------------------------------


def ask_for_token(otp: str | None = None, username: str = "manager_a"):
    data = {"username": username, "password": TEST_PASSWORD, "name": "Sync"}
    if otp is not None:
        data["otp"] = otp
    return APIClient().post("/api/v1/auth/token/", data, format="json")


def test_the_token_endpoint_requires_the_code_when_two_factor_is_on(manager_a, time_machine):
    device, codes = enable_two_factor(manager_a)
    time_machine.shift(30)
    missing = ask_for_token()
    assert missing.status_code == 400
    assert field_errors(missing) == {"otp": [OTP_REQUIRED_MESSAGE]}
    assert not AccessAttempt.objects.exists()  # not knowing to send it is no attack

    wrong = ask_for_token("000000")
    assert wrong.status_code == 400
    assert "That code is wrong" in field_errors(wrong)["otp"][0]
    assert AccessAttempt.objects.get(username="manager_a").failures_since_start == 1
    assert not ApiToken.objects.exists()

    time_machine.shift(30)
    assert ask_for_token(code_for(device)).status_code == 201
    assert ask_for_token(codes[0]).status_code == 201


def test_the_token_endpoint_refuses_a_confined_executive(executive, policy_on):
    response = ask_for_token(username="exec")
    assert response.status_code == 400
    assert "requires two-factor authentication" in field_errors(response)["otp"][0]


def test_existing_tokens_keep_working_after_two_factor_is_turned_on(manager_a):
    from accounts.tokens import token_create

    _, raw = token_create(user=manager_a, name="Sync")
    enable_two_factor(manager_a)
    response = APIClient().get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_the_schema_documents_the_otp_field(client, manager_a):
    client.force_login(manager_a)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    otp = schema["components"]["schemas"]["TokenRequestRequest"]["properties"]["otp"]
    assert "two-factor" in otp["description"]

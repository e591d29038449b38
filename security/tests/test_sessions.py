"""Session lifetimes: rotation at sign-in, sign-out, password changes and resets,
deactivation, the idle and absolute timeouts, and the profile's list of sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import user_deactivate
from accounts.tokens import token_create
from core.errors import error_body
from security.models import SecurityEvent, UserSession
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
NEW_PASSWORD = "a fresh and rather long passphrase"


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(START, tick=False)


def sign_in(user, password: str = TEST_PASSWORD, **extra) -> Client:
    """A browser of its own, signed in through the real sign-in form."""
    browser = Client(**extra)
    response = browser.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return browser


def in_store(*browsers: Client) -> list[bool]:
    """Whether each browser's session still exists in the session store (checked before
    any request, as Django would also drop a session whose password hash is stale)."""
    return [Session.objects.filter(pk=b.session.session_key).exists() for b in browsers]


def signed_in(browser: Client) -> bool:
    return browser.get(reverse("profile")).status_code == 200


def kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("id").values_list("kind", flat=True))


# --- Sign-in and sign-out ---------------------------------------------------------------


def test_signing_in_gives_the_session_a_new_key_and_records_it(manager_a):
    browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Firefox/140.0")
    browser.get(reverse("login"))
    browser.session.save()
    before = browser.session.session_key
    browser.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
    after = browser.session.session_key
    assert after != before
    assert not Session.objects.filter(pk=before).exists()
    tracked = UserSession.objects.get(user=manager_a)
    assert tracked.session_key == after
    assert tracked.ip_address == "127.0.0.1"
    assert tracked.device == "Firefox on Windows"
    assert kinds() == ["login"]


def test_signing_out_ends_the_session_for_good(manager_a):
    browser = sign_in(manager_a)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.post(reverse("logout")).status_code == 302
    assert not UserSession.objects.exists()
    # Whoever kept a copy of the old cookie is not signed in with it.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = thief.get(reverse("profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert kinds() == ["login", "logout"]


# --- Passwords and deactivation end sessions --------------------------------------------


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(manager_a):
    here, laptop, phone = sign_in(manager_a), sign_in(manager_a), sign_in(manager_a)
    someone_else = sign_in(UserFactory(username="other"))
    response = here.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    # Gone from the store itself, not merely refused when next used.
    assert in_store(here, laptop, phone, someone_else) == [True, False, False, True]
    assert signed_in(here)
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert signed_in(someone_else)
    assert list(
        UserSession.objects.filter(user=manager_a).values_list("session_key", flat=True)
    ) == [here.session.session_key]
    event = SecurityEvent.objects.get(kind="password_changed")
    assert event.actor == manager_a
    assert event.detail == "password changed; 2 other sessions ended"


def test_a_password_reset_ends_every_session_of_the_account(client, manager_a):
    laptop, phone = sign_in(manager_a), sign_in(manager_a)
    client.post(reverse("password_reset"), {"email": manager_a.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    form_page = client.get(link.split(settings.SITE_URL, 1)[1], follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert in_store(laptop, phone) == [False, False]
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert not UserSession.objects.filter(user=manager_a).exists()
    event = SecurityEvent.objects.get(kind="password_changed")
    assert event.detail == "password reset by e-mail link; 2 other sessions ended"
    assert sign_in(manager_a, NEW_PASSWORD)


def test_deactivation_ends_every_session_and_stops_tokens_without_revoking_them(
    manager_a, admin_user
):
    laptop = sign_in(manager_a)
    token, raw = token_create(user=manager_a, name="sync")
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/teams/").status_code == 200

    user_deactivate(user=manager_a, by=admin_user)

    assert in_store(laptop) == [False]
    assert not signed_in(laptop)
    assert not UserSession.objects.filter(user=manager_a).exists()
    assert api.get("/api/v1/teams/").status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is None  # nothing revoked silently: reactivation restores it
    event = SecurityEvent.objects.get(kind="user_deactivated")
    assert (event.actor, event.username) == (admin_user, "manager_a")
    assert event.detail == "1 session ended; API tokens refused"


def test_deactivating_in_the_django_admin_ends_the_sessions(manager_a, admin_user):
    laptop = sign_in(manager_a)
    admin = Client()
    admin.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[manager_a.pk])
    data = {
        "username": "manager_a",
        "first_name": manager_a.first_name,
        "last_name": manager_a.last_name,
        "email": manager_a.email,
        "role": "executive",
        "teams": [t.pk for t in manager_a.teams.all()],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        # "is_active" left out: the box unticked
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    manager_a.refresh_from_db()
    assert (manager_a.role, manager_a.is_active) == ("executive", False)
    assert in_store(laptop) == [False]
    role = SecurityEvent.objects.get(kind="role_changed")
    assert (role.actor, role.username, role.detail) == (
        admin_user,
        "manager_a",
        "role manager → executive",
    )
    assert SecurityEvent.objects.filter(kind="user_deactivated", actor=admin_user).exists()


def test_an_admin_setting_a_password_ends_that_users_sessions(manager_a, admin_user):
    laptop = sign_in(manager_a)
    admin = Client()
    admin.force_login(admin_user)
    url = reverse("admin:auth_user_password_change", args=[manager_a.pk])
    response = admin.post(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    )
    assert response.status_code == 302
    assert in_store(laptop) == [False]
    assert not signed_in(laptop)
    assert admin.get(reverse("admin:index")).status_code == 200  # the admin stays in
    event = SecurityEvent.objects.get(kind="password_changed")
    assert event.detail == "password set by boss; 1 other session ended"


# --- Timeouts --------------------------------------------------------------------------


def test_an_idle_session_is_signed_out_with_a_message(manager_a, time_machine):
    browser = sign_in(manager_a)
    time_machine.shift(timedelta(minutes=29))
    assert signed_in(browser)  # activity: the idle clock starts again
    time_machine.shift(timedelta(minutes=29))
    assert signed_in(browser)
    time_machine.shift(timedelta(minutes=31))
    response = browser.get(reverse("profile"), follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('login')}?next={reverse('profile')}"
    assert "You were signed out after 30 minutes without activity" in response.content.decode()
    assert not UserSession.objects.exists()
    event = SecurityEvent.objects.get(kind="session_expired")
    assert event.actor == manager_a
    assert not signed_in(browser)


def test_a_session_ends_after_twelve_hours_however_busy(manager_a, time_machine):
    browser = sign_in(manager_a)
    for _ in range(40):  # a page every 20 minutes, all day and beyond
        time_machine.shift(timedelta(minutes=20))
        if not signed_in(browser):
            break
    elapsed = datetime.now(UTC) - START
    assert timedelta(hours=12) <= elapsed <= timedelta(hours=12, minutes=20)
    assert "12 hours after signing in" in SecurityEvent.objects.get(kind="session_expired").detail


def test_the_timeouts_follow_the_settings(manager_a, settings, time_machine):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 5
    browser = sign_in(manager_a)
    time_machine.shift(timedelta(minutes=6))
    response = browser.get(reverse("profile"), follow=True)
    assert "You were signed out after 5 minutes without activity" in response.content.decode()


def test_an_htmx_request_of_an_expired_session_sends_the_page_to_the_sign_in(
    manager_a, time_machine
):
    browser = sign_in(manager_a)
    time_machine.shift(timedelta(minutes=31))
    response = browser.get(
        reverse("notifications:badge"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/relationships/?stage=active",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/relationships/%3Fstage%3Dactive"


def test_an_api_call_on_an_expired_session_answers_401_json(manager_a, time_machine):
    browser = sign_in(manager_a)
    assert browser.get("/api/v1/teams/").status_code == 200
    time_machine.shift(timedelta(minutes=31))
    response = browser.get("/api/v1/teams/")
    assert response.status_code == 401
    assert response.json() == error_body(
        "session_expired",
        "You were signed out after 30 minutes without activity. Sign in again.",
    )


def test_an_api_call_with_a_token_is_not_refused_for_a_stale_session_cookie(
    manager_a, time_machine
):
    browser = sign_in(manager_a)
    _, raw = token_create(user=manager_a, name="sync")
    time_machine.shift(timedelta(minutes=31))
    response = browser.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_activity_is_written_at_most_once_a_minute(manager_a, time_machine):
    browser = sign_in(manager_a)
    tracked = UserSession.objects.get()
    time_machine.shift(30)
    browser.get(reverse("profile"))
    tracked.refresh_from_db()
    assert tracked.last_seen_at == START  # under a minute: nothing written
    time_machine.shift(31)
    browser.get(reverse("profile"))
    tracked.refresh_from_db()
    assert tracked.last_seen_at == START + timedelta(seconds=61)


def test_background_polling_does_not_keep_a_session_alive(manager_a, time_machine):
    browser = sign_in(manager_a)
    for _ in range(4):  # the notification badge polls while the tab stays open
        time_machine.shift(timedelta(minutes=10))
        response = browser.get(
            reverse("notifications:badge"),
            HTTP_HX_REQUEST="true",
            HTTP_X_RAPPORT_BACKGROUND="true",
        )
    assert "HX-Redirect" in response  # the fourth poll is 40 idle minutes in
    assert not signed_in(browser)


def test_a_session_from_before_the_timeouts_gets_its_clocks_started(manager_a, time_machine):
    browser = Client()
    browser.force_login(manager_a)
    session = browser.session
    session.pop("_rapport_signed_in_at")
    session.pop("_rapport_seen_at")
    session.save()
    UserSession.objects.all().delete()
    assert signed_in(browser)
    assert UserSession.objects.filter(user=manager_a).exists()
    time_machine.shift(timedelta(minutes=31))
    assert not signed_in(browser)


# --- The profile's list -----------------------------------------------------------------


def test_the_profile_lists_active_sessions_and_signs_out_the_others(manager_a, time_machine):
    here = sign_in(manager_a, HTTP_USER_AGENT="Mozilla/5.0 (Macintosh; Mac OS X 14) Safari/605")
    phone = sign_in(
        manager_a,
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 15) Chrome/140.0 Mobile",
        REMOTE_ADDR="203.0.113.9",
    )
    stale = sign_in(manager_a)
    time_machine.shift(timedelta(minutes=20))
    here.get(reverse("home"))
    phone.get(reverse("home"))
    time_machine.shift(timedelta(minutes=15))  # ``stale`` is 35 minutes idle: not listed
    page = here.get(reverse("profile")).content.decode()
    assert "Safari on macOS" in page and "This browser" in page
    assert "Chrome on Android" in page and "203.0.113.9" in page
    assert page.count("last active") == 2
    assert stale.session.session_key not in page and here.session.session_key not in page

    response = here.post(reverse("security:sessions_end_others"), follow=True)
    assert "Signed out of 2 other sessions." in response.content.decode()
    assert signed_in(here)
    assert not signed_in(phone)
    assert UserSession.objects.filter(user=manager_a).count() == 1


def test_signing_out_other_sessions_needs_a_post(manager_a):
    browser = sign_in(manager_a)
    assert browser.get(reverse("security:sessions_end_others")).status_code == 405

"""What goes into the security log, from where, and what never does."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import user_reactivate, user_set_role
from accounts.tokens import token_create
from core.errors import RuleViolation
from plans.tests.factories import InitiativeFactory, PlanFactory
from security.models import SecurityEvent
from security.services import security_event_record
from security.tasks import prune_security_log
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events(kind: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=kind).order_by("id"))


# --- The service ------------------------------------------------------------------------


def test_an_event_takes_address_browser_and_path_from_the_request(rf, manager_a, caplog):
    request = rf.get(
        "/stakeholders/export/",
        REMOTE_ADDR="203.0.113.5",
        HTTP_USER_AGENT="x" * 500,
    )
    request.user = manager_a
    with caplog.at_level(logging.INFO, logger="rapport.security"):
        event = security_event_record(kind="export", request=request, detail="export a.csv")
    event.refresh_from_db()
    assert (event.actor, event.username) == (manager_a, "manager_a")
    assert (event.ip_address, event.path) == ("203.0.113.5", "/stakeholders/export/")
    assert event.user_agent == "x" * 200
    assert caplog.records[-1].name == "rapport.security"
    assert "export user='manager_a' ip=203.0.113.5" in caplog.records[-1].getMessage()


def test_an_unknown_kind_is_a_programming_error(manager_a):
    with pytest.raises(ValueError, match="Unknown security event kind 'exported'"):
        security_event_record(kind="exported", actor=manager_a)


# --- Sign-in ------------------------------------------------------------------------------


def test_sign_in_failure_and_sign_out_are_logged_with_the_name_typed(client, manager_a):
    client.post(reverse("login"), {"username": "manager_a", "password": "guess"})
    client.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
    client.post(reverse("logout"))
    failed, login, logout = events("login_failed")[0], events("login")[0], events("logout")[0]
    assert (failed.username, failed.actor, failed.ip_address) == ("manager_a", None, "127.0.0.1")
    assert (login.actor, login.path) == (manager_a, reverse("login"))
    assert (logout.actor, logout.path) == (manager_a, reverse("logout"))


# --- Tokens ---------------------------------------------------------------------------------


def test_token_creation_and_revocation_are_logged_by_prefix(client, manager_a):
    client.force_login(manager_a)
    client.post(reverse("token_new"), {"name": "Finance sync", "scope": "read"})
    token = ApiToken.objects.get()
    client.post(reverse("token_revoke", args=[token.pk]))
    created, revoked = events("token_created")[0], events("token_revoked")[0]
    assert created.detail == f"token {token.prefix}… “Finance sync” scope read"
    assert revoked.detail == f"token {token.prefix}… “Finance sync”"
    assert created.actor == revoked.actor == manager_a
    assert created.path == reverse("token_new")


def test_a_token_from_the_api_is_logged(manager_a):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "manager_a", "password": TEST_PASSWORD, "name": "CI", "scope": "read"},
        format="json",
    )
    assert response.status_code == 201
    event = events("token_created")[0]
    assert event.path == "/api/v1/auth/token/"
    assert event.detail.endswith("“CI” scope read")


# --- Roles and deactivation -----------------------------------------------------------------


def test_role_changes_record_old_new_and_who(manager_a, admin_user):
    user_set_role(user=manager_a, role="executive", by=admin_user)
    user_set_role(user=manager_a, role="executive", by=admin_user)  # no change: no entry
    manager_a.refresh_from_db()
    assert manager_a.role == "executive"
    [event] = events("role_changed")
    assert (event.actor, event.username, event.detail) == (
        admin_user,
        "manager_a",
        "role manager → executive",
    )


def test_promotion_to_admin_opens_the_django_admin(manager_a, admin_user):
    user_set_role(user=manager_a, role="admin", by=admin_user)
    manager_a.refresh_from_db()
    assert manager_a.is_staff and manager_a.is_superuser


def test_an_unknown_role_is_refused(manager_a, admin_user):
    with pytest.raises(RuleViolation, match="“owner” is not a role"):
        user_set_role(user=manager_a, role="owner", by=admin_user)


def test_reactivation_is_logged(manager_a, admin_user):
    manager_a.is_active = False
    manager_a.save()
    user_reactivate(user=manager_a, by=admin_user)
    manager_a.refresh_from_db()
    assert manager_a.is_active
    assert events("user_reactivated")[0].actor == admin_user


# --- Passwords ------------------------------------------------------------------------------


def test_a_password_reset_request_is_logged_with_the_address_typed(client, manager_a):
    client.post(reverse("password_reset"), {"email": "manager_a@example.org"})
    [event] = events("password_reset_requested")
    assert (event.username, event.actor) == ("manager_a@example.org", None)


# --- Refusals -------------------------------------------------------------------------------


def test_a_refused_page_is_logged_with_its_path(contributor_a):
    response = client_for(contributor_a).get(reverse("stakeholders:create"))
    assert response.status_code == 403
    [event] = events("permission_denied")
    assert event.actor == contributor_a
    assert event.path == reverse("stakeholders:create")
    assert event.detail == (
        "GET refused: Only relationship managers and admins change the registry."
    )


def test_a_refused_api_call_is_logged_once(contributor_a):
    _, raw = token_create(user=contributor_a, name="mine")
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post("/api/v1/stakeholders/", {"name": "Acme"}, format="json")
    assert response.status_code == 403
    [event] = events("permission_denied")
    assert (event.actor, event.path) == (contributor_a, "/api/v1/stakeholders/")
    assert event.detail.startswith("POST refused: ")


def test_a_read_only_token_writing_is_logged(manager_a):
    _, raw = token_create(user=manager_a, name="reader", scope="read")
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post("/api/v1/stakeholders/", {"name": "Acme"}, format="json").status_code == 403
    [event] = events("permission_denied")
    assert event.detail == "POST refused: This API token is read-only."


def test_a_missing_record_is_not_a_refusal(manager_a):
    assert client_for(manager_a).get("/relationships/999999/").status_code == 404
    assert not events("permission_denied")


# --- Exports --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "args", "filename"),
    [
        ("stakeholders:export", [], "stakeholders-"),
        ("stakeholders:contact_export", [], "contacts-"),
        ("relationships:export", [], "relationships-"),
    ],
)
def test_every_list_export_is_logged_with_its_filters(executive, url_name, args, filename):
    response = client_for(executive).get(reverse(url_name, args=args), {"q": "Acme"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    [event] = events("export")
    assert event.actor == executive
    assert event.detail.startswith(f"export {filename}")
    assert event.detail.endswith(".csv (q=Acme)")


def test_a_plan_export_is_logged_with_its_row_count(executive, manager_a):
    plan = PlanFactory(period="FY2027")
    InitiativeFactory.create_batch(3, plan=plan, owner=manager_a)
    response = client_for(executive).get(reverse("plans:plan_export", args=[plan.pk]))
    assert response.status_code == 200
    assert events("export")[0].detail == "export plan-FY2027.csv (3 rows)"


def test_a_dashboard_chart_download_is_logged(executive):
    RelationshipFactory(stakeholder=StakeholderFactory())
    url = reverse("dashboard:chart_csv", args=["health"])
    response = client_for(executive).get(url)
    assert response.status_code == 200
    detail = events("export")[0].detail
    assert detail.startswith("export rapport-health-") and " rows" in detail


# --- No secrets -----------------------------------------------------------------------------


def test_no_secret_ever_reaches_the_log(client, manager_a, caplog):
    wrong_password = "Zebra-Wrong-Password-7781"
    new_password = "Quokka Moon Harbour 2042 passphrase"
    with caplog.at_level(logging.DEBUG):
        client.post(reverse("login"), {"username": "manager_a", "password": wrong_password})
        client.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
        session_key = client.session.session_key
        created = client.post(reverse("token_new"), {"name": "sync", "scope": "read"})
        raw_from_page = created.content.decode().split('readonly value="', 1)[1].split('"')[0]
        api = APIClient().post(
            "/api/v1/auth/token/",
            {"username": "manager_a", "password": TEST_PASSWORD, "name": "ci"},
            format="json",
        )
        raw_from_api = api.json()["token"]
        client.post(
            reverse("password_change"),
            {
                "old_password": TEST_PASSWORD,
                "new_password1": new_password,
                "new_password2": new_password,
            },
        )
    secrets = [
        wrong_password,
        TEST_PASSWORD,
        new_password,
        raw_from_page,
        raw_from_api,
        session_key,
        client.session.session_key,
    ]
    kinds = set(SecurityEvent.objects.values_list("kind", flat=True))
    assert {"login_failed", "login", "token_created", "password_changed"} <= kinds
    stored = [
        str(value)
        for row in SecurityEvent.objects.values_list(
            "username", "ip_address", "user_agent", "path", "detail"
        )
        for value in row
    ]
    logged = caplog.text
    for secret in secrets:
        assert secret and all(secret not in value for value in stored), secret
        assert secret not in logged, secret


# --- Retention ------------------------------------------------------------------------------


def test_the_daily_prune_keeps_a_year(settings, time_machine, manager_a):
    time_machine.move_to(datetime(2025, 1, 1, 12, tzinfo=UTC), tick=False)
    old = security_event_record(kind="login", actor=manager_a)
    time_machine.move_to(datetime(2025, 12, 30, 12, tzinfo=UTC), tick=False)
    recent = security_event_record(kind="login", actor=manager_a)
    time_machine.move_to(datetime(2026, 1, 2, 12, tzinfo=UTC), tick=False)
    result = prune_security_log.delay().get()
    assert result["events"] == 1
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not SecurityEvent.objects.filter(pk=old.pk).exists()
    settings.SECURITY_LOG_RETENTION_DAYS = 1
    assert prune_security_log.delay().get()["events"] == 1
    assert prune_security_log.delay().get() == {"events": 0, "sessions": 0}  # safe twice


def test_the_prune_forgets_sessions_the_timeouts_ended(time_machine, manager_a):
    time_machine.move_to(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
    Client().force_login(manager_a)
    Client().force_login(UserFactory())
    time_machine.shift(timedelta(minutes=20))
    fresh = Client()
    fresh.force_login(manager_a)
    time_machine.shift(timedelta(minutes=15))
    assert prune_security_log.delay().get()["sessions"] == 2

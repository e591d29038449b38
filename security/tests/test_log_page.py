"""The security log page: admins only, newest first, filters, CSV, a pinned query count."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from security.models import SecurityEvent
from security.services import security_event_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOG = reverse("security:log")
EXPORT = reverse("security:log_export")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def history(time_machine, manager_a, contributor_a):
    """Events on three days in March 2026 (London time), oldest first."""
    time_machine.move_to(datetime(2026, 3, 1, 10, tzinfo=UTC), tick=False)
    security_event_record(kind="login_failed", username="mallory")
    time_machine.move_to(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False)
    security_event_record(kind="export", actor=manager_a, detail="export stakeholders.csv")
    time_machine.move_to(datetime(2026, 3, 3, 8, tzinfo=UTC), tick=False)
    security_event_record(kind="login", actor=contributor_a)
    time_machine.move_to(datetime(2026, 3, 3, 9, tzinfo=UTC), tick=False)


@pytest.fixture
def admin(admin_user) -> Client:
    """The admin's browser; their own sign-in is left out of the log under test."""
    client = client_for(admin_user)
    SecurityEvent.objects.filter(actor=admin_user).delete()
    return client


def shown(response) -> list[str]:
    return [e.kind for e in response.context["page"]]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("executive", 404),
        ("manager_a", 404),
        ("contributor_a", 404),
    ],
)
@pytest.mark.parametrize("url", [LOG, EXPORT])
def test_only_admins_see_the_log(request, persona, status, url):
    response = client_for(request.getfixturevalue(persona)).get(url)
    assert response.status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(LOG)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_log_lists_newest_first(history, admin):
    response = admin.get(LOG)
    assert shown(response) == ["login", "export", "login_failed"]
    page = response.content.decode()
    assert "mallory" in page and "export stakeholders.csv" in page
    assert "3 events, newest first. Kept for 365 days." in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "export"}, ["export"]),
        ({"user": "MALLORY"}, ["login_failed"]),
        ({"user": "manager_a"}, ["export"]),
        # 23:30 UTC on 2 March is 23:30 in London (GMT): the 2nd, not the 3rd.
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, ["export"]),
        ({"date_from": "2026-03-02"}, ["login", "export"]),
        ({"date_to": "2026-03-01"}, ["login_failed"]),
        ({"kind": "login", "user": "contributor_a"}, ["login"]),
        ({"kind": "lockout"}, []),
    ],
)
def test_filters(history, admin, params, expected):
    response = admin.get(LOG, params)
    assert response.status_code == 200
    assert shown(response) == expected


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"kind": "hacked"}, "kind", "Select a valid choice. hacked is not one of"),
        ({"date_from": "yesterday"}, "date_from", "Enter a date as YYYY-MM-DD."),
        ({"date_to": "2026-02-30"}, "date_to", "Enter a date as YYYY-MM-DD."),
        (
            {"date_from": "2026-03-05", "date_to": "2026-03-01"},
            "date_to",
            "“To” must be on or after “From”.",
        ),
        ({"date_from": "0001-01-01"}, "date_from", "greater than or equal to 2000-01-01"),
        ({"date_to": "9999-12-31"}, "date_to", "less than or equal to 2999-12-31"),
        ({"user": "x" * 151}, "user", "at most 150 characters"),
    ],
)
@pytest.mark.parametrize("url", [LOG, EXPORT])
def test_bad_filters_are_explained_not_a_500(admin_user, url, params, field, message):
    response = client_for(admin_user).get(url, params)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    page = response.content.decode()
    assert "The filters are not valid" in page
    assert f'id="id_{field}_error"' in page  # shown beside the field


def test_the_csv_holds_the_filtered_log_and_is_itself_logged(history, admin, admin_user):
    response = admin.get(EXPORT, {"date_from": "2026-03-02"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="security-log-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["time", "kind", "user", "ip_address", "path", "user_agent", "detail"]
    # Newest first: this very download, then the two events since 2 March.
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("export", "boss"),
        ("login", "contributor_a"),
        ("export", "manager_a"),
    ]
    assert rows[3][6] == "export stakeholders.csv"
    event = SecurityEvent.objects.filter(kind="export", actor=admin_user).get()
    assert event.detail.startswith("export security-log-")
    assert event.detail.endswith("(date_from=2026-03-02)")


def test_pages_of_fifty_keep_the_filters(admin):
    for i in range(60):
        security_event_record(kind="login_failed", username=f"guess{i}")
    first = admin.get(LOG, {"kind": "login_failed"})
    assert len(first.context["page"]) == 50
    assert "?kind=login_failed&amp;page=2" in first.content.decode()
    second = admin.get(LOG, {"kind": "login_failed", "page": 2})
    assert [e.username for e in second.context["page"]] == [f"guess{i}" for i in range(9, -1, -1)]
    assert admin.get(LOG, {"page": "999"}).status_code == 200  # past the end: the last page


@pytest.mark.parametrize("rows", [10, 60])
def test_the_log_query_count_does_not_grow_with_rows(
    admin_user, django_assert_max_num_queries, rows
):
    for i in range(rows):
        security_event_record(kind="login", actor=UserFactory(username=f"u{i}"))
    admin = client_for(admin_user)
    with django_assert_max_num_queries(5):
        response = admin.get(LOG)
    assert response.status_code == 200
    assert len(response.context["page"]) == min(rows + 1, 50)


def test_the_admin_menu_links_to_the_log(admin_user, manager_a):
    assert LOG in client_for(admin_user).get(reverse("profile")).content.decode()
    assert LOG not in client_for(manager_a).get(reverse("profile")).content.decode()


def test_the_django_admin_shows_the_log_read_only(admin_user):
    event = security_event_record(kind="login_failed", username="mallory")
    admin = client_for(admin_user)
    assert admin.get(reverse("admin:security_securityevent_changelist")).status_code == 200
    change = reverse("admin:security_securityevent_change", args=[event.pk])
    assert admin.get(change).status_code == 200  # viewable
    assert admin.post(change, {"username": "someone"}).status_code == 403
    assert admin.get(reverse("admin:security_securityevent_add")).status_code == 403
    delete = reverse("admin:security_securityevent_delete", args=[event.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.username == "mallory"


def test_dates_are_whole_days_in_the_organisations_time_zone(admin, time_machine):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    time_machine.move_to(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), tick=False)
    security_event_record(kind="lockout", username="late")
    time_machine.shift(timedelta(hours=2))
    assert shown(admin.get(LOG, {"kind": "lockout", "date_to": "2026-07-01"})) == []
    assert shown(admin.get(LOG, {"kind": "lockout", "date_from": "2026-07-02"})) == ["lockout"]

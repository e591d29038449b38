"""The notifications API: only the caller's own, mark one or all read."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from notifications.services import notification_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()


@pytest.fixture
def api(manager_a):
    client = APIClient()
    client.force_authenticate(manager_a)
    return client


def notify(user, title: str, **fields) -> Notification:
    return notification_create(recipient=user, kind="review_due", title=title, **fields)


def test_the_list_holds_only_my_notifications_newest_first(api, manager_a, manager_b):
    notify(manager_a, "First")
    notify(manager_a, "Second")
    notify(manager_b, "Not mine")
    body = api.get("/api/v1/notifications/").json()
    assert [n["title"] for n in body["results"]] == ["Second", "First"]
    assert body["results"][0]["is_read"] is False


def test_someone_elses_notification_is_404_and_stays_unread(api, manager_b):
    theirs = notify(manager_b, "Theirs")
    assert api.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_one_read(api, manager_a):
    mine = notify(manager_a, "Mine")
    response = api.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["is_read"] is True
    first_read = Notification.objects.get(pk=mine.pk).read_at
    assert api.post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 200
    assert Notification.objects.get(pk=mine.pk).read_at == first_read  # unchanged


def test_the_unread_filter_and_marking_all_read(api, manager_a, manager_b):
    notify(manager_a, "One")
    notify(manager_a, "Two")
    read = notify(manager_a, "Old")
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    theirs = notify(manager_b, "Theirs")
    assert api.get("/api/v1/notifications/?unread=true").json()["count"] == 2
    assert api.get("/api/v1/notifications/?unread=false").json()["count"] == 1
    response = api.post("/api/v1/notifications/read-all/")
    assert response.json() == {"marked": 2}
    assert api.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notifications_are_read_only_otherwise(api, manager_a):
    mine = notify(manager_a, "Mine")
    assert api.post("/api/v1/notifications/", {"title": "x"}, format="json").status_code == 405
    assert api.patch(f"/api/v1/notifications/{mine.pk}/", {}, format="json").status_code == 405
    assert api.delete(f"/api/v1/notifications/{mine.pk}/").status_code == 405
    assert api.get("/api/v1/notifications/?unread=maybe").status_code == 400


def test_anonymous_callers_get_401():
    assert APIClient().get("/api/v1/notifications/").status_code == 401


@pytest.mark.parametrize("count", [30, 60])
def test_the_list_costs_the_same_queries_at_any_size(
    api, manager_a, count, django_assert_max_num_queries
):
    for n in range(count):
        notify(manager_a, f"N{n}")
    with django_assert_max_num_queries(2):
        response = api.get("/api/v1/notifications/?page_size=100")
    assert response.json()["count"] == count

"""The inbox, the nav badge fragment, mark read, preferences."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import Notification, NotificationPreference
from notifications.services import NotificationSpec, notification_create, notifications_create

pytestmark = pytest.mark.django_db


def notify(user, n=1, **extra):
    return [
        notification_create(
            recipient=user, kind="test", title=f"Item {i}", url="/reviews/", **extra
        )
        for i in range(n)
    ]


def test_the_badge_fragment_shows_the_unread_count(client, manager_a, manager_b):
    notify(manager_a, 3)
    notify(manager_b, 5)
    client.force_login(manager_a)
    response = client.get(reverse("notifications:badge"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<span class="badge rounded-pill text-bg-danger" id="notification-count">3</span>' in html
    )
    assert "<html" not in html
    assert "no-cache" in response.headers["Cache-Control"]


def test_the_badge_says_none_when_all_is_read(client, manager_a):
    client.force_login(manager_a)
    html = client.get(reverse("notifications:badge")).content.decode()
    assert "notification-count" not in html and "none unread" in html


def test_marking_one_read_with_htmx_returns_the_item_and_refreshes_the_badge(client, manager_a):
    first, second = notify(manager_a, 2)
    client.force_login(manager_a)
    response = client.post(
        reverse("notifications:mark_read", args=[first.pk]), headers={"HX-Request": "true"}
    )
    assert "notifications-changed" in response.headers["HX-Trigger"]
    assert f'id="notification-{first.pk}"' in response.content.decode()
    first.refresh_from_db(), second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_marking_read_works_as_a_plain_post_too(client, manager_a):
    [item] = notify(manager_a)
    client.force_login(manager_a)
    response = client.post(reverse("notifications:mark_read", args=[item.pk]))
    assert response.status_code == 302 and response.url == reverse("notifications:index")
    item.refresh_from_db()
    assert item.is_read


def test_someone_elses_notification_is_404(client, manager_a, manager_b):
    [item] = notify(manager_b)
    client.force_login(manager_a)
    assert client.post(reverse("notifications:mark_read", args=[item.pk])).status_code == 404
    item.refresh_from_db()
    assert not item.is_read


def test_mark_all_read_reads_only_mine(client, manager_a, manager_b):
    notify(manager_a, 4)
    notify(manager_b, 2)
    client.force_login(manager_a)
    response = client.post(reverse("notifications:mark_all_read"), headers={"HX-Request": "true"})
    assert "0 unread" in response.content.decode()
    assert "notifications-changed" in response.headers["HX-Trigger"]
    assert not Notification.objects.filter(recipient=manager_a, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=manager_b, read_at__isnull=True).count() == 2
    plain = client.post(reverse("notifications:mark_all_read"))
    assert plain.status_code == 302


def test_a_repeat_about_the_same_subject_refreshes_the_unread_one(manager_a):
    first = notification_create(recipient=manager_a, kind="k", title="Old", key="review:1:overdue")
    second = notification_create(recipient=manager_a, kind="k", title="New", key="review:1:overdue")
    assert first.pk == second.pk
    assert Notification.objects.get().title == "New"
    Notification.objects.update(read_at=first.created_at)
    third = notification_create(
        recipient=manager_a, kind="k", title="Again", key="review:1:overdue"
    )
    assert third.pk != first.pk  # once read, a new one appears


def test_a_batch_adds_and_refreshes_like_one_call_each(
    manager_a, manager_b, django_assert_max_num_queries
):
    old = notification_create(recipient=manager_a, kind="k", title="Old", key="review:1:overdue")
    read = notification_create(recipient=manager_b, kind="k", title="Read", key="review:1:overdue")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    specs = [
        NotificationSpec(manager_a.pk, "k", "New", key="review:1:overdue"),  # refreshes "Old"
        NotificationSpec(manager_b.pk, "k", "Again", key="review:1:overdue"),  # "Read" stays
        NotificationSpec(manager_b.pk, "k", "First of two", key="review:2:due"),
        NotificationSpec(manager_b.pk, "k", "Second of two", key="review:2:due"),
        NotificationSpec(manager_a.pk, "k", "No key"),
        NotificationSpec(manager_a.pk, "k", "No key"),
    ]
    with django_assert_max_num_queries(7):
        assert notifications_create(specs) == 5
    unread = Notification.objects.filter(read_at__isnull=True)
    assert sorted(unread.values_list("recipient__username", "title")) == [
        ("manager_a", "New"),
        ("manager_a", "No key"),
        ("manager_a", "No key"),
        ("manager_b", "Again"),
        ("manager_b", "Second of two"),
    ]
    assert unread.get(title="New").pk == old.pk
    assert Notification.objects.get(pk=read.pk).title == "Read"


def test_a_batch_racing_another_delivery_refreshes_the_winner_instead_of_failing(
    manager_a, monkeypatch
):
    winner = notification_create(recipient=manager_a, kind="k", title="Theirs", key="review:1:due")
    # The race: the other delivery's row is not there yet when the batch looks.
    monkeypatch.setattr(Notification.objects, "select_for_update", Notification.objects.none)
    notifications_create([NotificationSpec(manager_a.pk, "k", "Ours", key="review:1:due")])
    monkeypatch.undo()
    assert list(Notification.objects.values_list("pk", "title")) == [(winner.pk, "Ours")]


def test_the_notifications_page_query_count_is_flat(
    client, manager_a, django_assert_max_num_queries
):
    notify(manager_a, 30)
    client.force_login(manager_a)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:index"))
    html = response.content.decode()
    assert html.count('class="list-group-item') == 25
    assert "30 unread" in html


def test_preferences_are_saved_for_the_user(client, manager_a):
    client.force_login(manager_a)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "daily digest" in page.lower()
    response = client.post(reverse("notifications:preferences"), {"email_enabled": "on"})
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=manager_a)
    assert preference.email_enabled and not preference.digest_enabled


def test_pages_need_a_login(client):
    response = client.get(reverse("notifications:index"))
    assert response.status_code == 302 and "/accounts/login/" in response.url

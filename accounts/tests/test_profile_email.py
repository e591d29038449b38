"""Changing one's e-mail address: password resets go there, so a stolen session alone must
not be able to move it."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp

from accounts.twofactor import two_factor_confirm, two_factor_setup_start
from security.models import SecurityEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC), tick=False)


def code_for(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


def change_email(client, user, email="new@example.org", **extra):
    data = {"first_name": "Ana", "last_name": user.last_name, "email": email, **extra}
    return client.post(reverse("profile"), data)


def test_changing_email_needs_the_current_password(client, manager_a):
    client.force_login(manager_a)
    response = change_email(client, manager_a)
    assert response.status_code == 400
    assert "Enter your current password to change your e-mail address." in (
        response.content.decode()
    )
    manager_a.refresh_from_db()
    assert manager_a.email == "manager_a@example.org"
    assert manager_a.first_name != "Ana"  # nothing of the form was saved
    assert mail.outbox == []


def test_a_wrong_password_is_a_field_error_and_nothing_is_saved(client, manager_a):
    client.force_login(manager_a)
    response = change_email(client, manager_a, current_password="not my password")
    assert response.status_code == 400
    assert response.context["form"].errors["current_password"] == ["That is not your password."]
    manager_a.refresh_from_db()
    assert (manager_a.email, manager_a.first_name) != ("new@example.org", "Ana")
    assert not SecurityEvent.objects.filter(kind="email_changed").exists()
    assert mail.outbox == []


def test_with_the_password_the_email_changes_the_old_address_is_told_and_it_is_logged(
    client, manager_a
):
    client.force_login(manager_a)
    response = change_email(client, manager_a, current_password=TEST_PASSWORD)
    assert response.status_code == 302
    manager_a.refresh_from_db()
    assert (manager_a.email, manager_a.first_name) == ("new@example.org", "Ana")

    [notice] = mail.outbox
    assert notice.to == ["manager_a@example.org"]
    assert "e-mail address was changed" in notice.subject
    assert "new@example.org" in notice.body
    assert "If you did not" in notice.body and "administrator" in notice.body

    [event] = SecurityEvent.objects.filter(kind="email_changed")
    assert event.actor == manager_a
    assert event.detail == "e-mail manager_a@example.org → new@example.org"

    page = client.get(reverse("profile")).content.decode()
    assert "Your e-mail address is now new@example.org. A notice went to the previous one." in (
        page
    )


def test_a_name_change_alone_needs_no_password(client, manager_a):
    client.force_login(manager_a)
    assert change_email(client, manager_a, email=manager_a.email).status_code == 302
    manager_a.refresh_from_db()
    assert manager_a.first_name == "Ana"
    assert mail.outbox == []


def test_with_two_factor_on_changing_email_also_needs_a_current_code(
    client, manager_a, time_machine
):
    device = two_factor_setup_start(user=manager_a)
    two_factor_confirm(user=manager_a, code=code_for(device))
    client.force_login(manager_a)
    time_machine.shift(30)

    no_code = change_email(client, manager_a, current_password=TEST_PASSWORD)
    assert no_code.status_code == 400
    assert "code" in no_code.context["form"].errors
    wrong_code = change_email(client, manager_a, current_password=TEST_PASSWORD, code="000000")
    assert wrong_code.status_code == 400
    assert "That code is wrong" in wrong_code.content.decode()
    manager_a.refresh_from_db()
    assert manager_a.email == "manager_a@example.org"

    time_machine.shift(30)
    response = change_email(
        client, manager_a, current_password=TEST_PASSWORD, code=code_for(device)
    )
    assert response.status_code == 302
    manager_a.refresh_from_db()
    assert manager_a.email == "new@example.org"
    assert [m.to for m in mail.outbox] == [["manager_a@example.org"]]


def test_if_the_old_address_cannot_be_told_the_email_is_not_changed(client, manager_a, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("accounts.services.send_mail", refuse)
    client.force_login(manager_a)
    response = change_email(client, manager_a, current_password=TEST_PASSWORD)
    assert response.status_code == 400
    assert "could not e-mail your current address" in response.content.decode()
    manager_a.refresh_from_db()
    assert manager_a.email == "manager_a@example.org"
    assert not SecurityEvent.objects.filter(kind="email_changed").exists()

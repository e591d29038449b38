from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_every_page_but_login_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("password_reset")).status_code == 200


def test_a_user_signs_in_and_sees_the_home_page(client, manager_a):
    response = client.post(
        reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == manager_a
    assert b"Good to see you" in response.content
    assert b"Sign out" in response.content


def test_login_rotates_the_session_key(client, manager_a):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
    assert client.session.session_key != before


def test_wrong_password_gets_a_clear_error(client, manager_a):
    response = client.post(reverse("login"), {"username": "manager_a", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_five_failures_lock_the_account_for_that_address(client, manager_a):
    for _ in range(5):
        client.post(reverse("login"), {"username": "manager_a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, manager_a):
    client.force_login(manager_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change_requires_a_strong_password(client, manager_a):
    client.force_login(manager_a)
    url = reverse("password_change")
    weak = client.post(
        url, {"old_password": TEST_PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert "at least 12 characters" in weak.content.decode()
    passphrase = "a long passphrase " * 4  # 72 characters: long passphrases are welcome
    ok = client.post(
        url,
        {"old_password": TEST_PASSWORD, "new_password1": passphrase, "new_password2": passphrase},
    )
    assert ok.status_code == 302
    manager_a.refresh_from_db()
    assert manager_a.check_password(passphrase)


def test_password_reset_mails_a_working_link(client):
    user = UserFactory(username="forgetful", email="forgetful@example.org")
    client.post(reverse("password_reset"), {"email": "forgetful@example.org"})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.org"]
    link = next(line for line in message.body.splitlines() if "/password/reset/" in line)
    path = link.split(settings.SITE_URL, 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    new = "brand new passphrase 2026"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_for_unknown_address_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"}, follow=True)
    assert response.status_code == 200
    assert len(mail.outbox) == 0
    assert "If an account uses that address" in response.content.decode()


def test_profile_edits_name_but_not_role(client, contributor_a):
    client.force_login(contributor_a)
    response = client.post(
        reverse("profile"),
        {"first_name": "Cai", "last_name": "Jones", "email": contributor_a.email, "role": "admin"},
    )
    assert response.status_code == 302
    contributor_a.refresh_from_db()
    assert contributor_a.last_name == "Jones"
    assert contributor_a.role == "contributor"


def test_only_admins_reach_the_django_admin(client, manager_a, admin_user):
    client.force_login(manager_a)
    assert client.get("/admin/").status_code == 403
    client.force_login(admin_user)
    for url in ("/admin/", "/admin/accounts/user/", "/admin/accounts/team/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("url", ["/admin/", "/admin/accounts/user/", "/admin/login/?next=/admin/"])
def test_a_signed_in_non_admin_gets_a_403_page_from_the_admin_not_a_redirect_loop(
    client, manager_a, url
):
    client.force_login(manager_a)
    response = client.get(url, follow=True)  # the test client raises on a redirect loop
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2  # the admin's login page: ours, then back
    html = response.content.decode()
    assert "The administration pages are for administrators" in html
    assert "Go to your home page" in html  # the product's own error page, not the admin's


def test_anonymous_visitors_to_the_admin_are_still_sent_to_sign_in(client):
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/admin/accounts/user/"

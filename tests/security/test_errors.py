"""Error pages: what a person sees when something fails, and what support can find in the log.

Run with DEBUG off (as in production) and a client that returns the error response instead of
re-raising the exception, so the assertions see exactly what a browser would.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.conf import settings
from django.contrib import auth
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from core import views as core_views
from relationships import selectors as relationship_selectors
from tests.security.error_urls import SECRET_IN_MESSAGE

ERROR_ID = re.compile(r'<code[^>]*id="error-id">([0-9a-f]{12})</code>')


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.security.error_urls"


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _outage(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


def _assert_looks_like_rapport(html: str) -> None:
    assert "css/rapport.css" in html and "bootstrap/css/bootstrap.min.css" in html
    assert 'class="navbar-brand' in html


def _assert_no_internals(html: str, settings) -> None:
    assert "Traceback" not in html
    assert SECRET_IN_MESSAGE not in html
    assert settings.SECRET_KEY not in html
    assert str(settings.DATABASES["default"]["NAME"]) not in html


# --- 500 ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_crash_shows_an_error_id_that_support_finds_in_the_log_with_the_traceback(
    production, settings, manager_a, caplog
):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = _client(manager_a).get("/_test/explode/", HTTP_REFERER="http://testserver/x/")

    assert response.status_code == 500
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    _assert_no_internals(html, settings)
    assert "Something went wrong on our side" in html
    assert 'href="/x/"' in html  # back to where they were
    error_id = ERROR_ID.search(html).group(1)

    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1, "the id is logged exactly once"
    record = logged[0]
    assert record.name == "django.request" and record.levelno == logging.ERROR
    assert record.exc_info and record.exc_info[0] is RuntimeError
    assert "Traceback" in caplog.text and SECRET_IN_MESSAGE in caplog.text
    # Django's own "Internal Server Error" line would repeat the traceback without the id.
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.django_db
def test_every_crash_gets_its_own_error_id(production, manager_a):
    client = _client(manager_a)
    ids = {ERROR_ID.search(client.get("/_test/explode/").content.decode()).group(1) for _ in "ab"}
    assert len(ids) == 2


def test_the_500_page_renders_without_the_database_or_the_user():
    # No django_db mark: any query (session, user, context processor) would fail this test.
    request = RequestFactory().get("/relationships/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = core_views.server_error(request)
    assert response.status_code == 500
    assert ERROR_ID.search(response.content.decode())
    assert request.error_id in response.content.decode()


@pytest.mark.django_db
def test_an_api_crash_answers_json_with_the_error_id_it_logged(
    production, manager_a, monkeypatch, caplog
):
    def broken(user):
        raise RuntimeError(f"bug with {SECRET_IN_MESSAGE}")

    monkeypatch.setattr(relationship_selectors, "relationships_visible_to", broken)
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(manager_a)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/api/v1/relationships/")

    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == "Internal error"
    assert re.fullmatch(r"[0-9a-f]{12}", body["error_id"])
    assert SECRET_IN_MESSAGE not in response.content.decode()
    (record,) = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


@pytest.mark.django_db
def test_an_api_crash_still_reaches_the_test_client_as_an_exception(
    production, manager_a, monkeypatch
):
    # got_request_exception is sent, as for pages: error reporters (and tests) still see it.
    monkeypatch.setattr(relationship_selectors, "relationships_visible_to", lambda user: 1 / 0)
    api = APIClient()
    api.force_authenticate(manager_a)
    with pytest.raises(ZeroDivisionError):
        api.get("/api/v1/relationships/")


# --- 503: the database is out of reach ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_outage_in_a_view_answers_503_with_retry_after(
    production, settings, manager_a, monkeypatch, caplog, error
):
    def down(user):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(relationship_selectors, "relationships_visible_to", down)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = _client(manager_a).get("/relationships/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    _assert_no_internals(html, settings)
    assert "briefly unavailable" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # a page view retries by itself
    error_id = ERROR_ID.search(html).group(1)
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert error.__name__ in record.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.django_db
def test_a_form_post_during_an_outage_says_it_was_not_saved_and_does_not_reload(
    production, manager_a, monkeypatch
):
    monkeypatch.setattr(relationship_selectors, "get_relationship_for", _outage)
    response = _client(manager_a).post("/relationships/1/edit/", {"purpose": "x"})
    assert response.status_code == 503
    html = response.content.decode()
    assert "was <strong>not</strong> saved" in html
    assert "http-equiv" not in html


@pytest.mark.django_db
def test_a_database_outage_before_the_view_also_answers_503(production, manager_a, monkeypatch):
    # Middleware loads the signed-in user (a query) before any view runs: that failure never
    # reaches process_exception, so handler500 must recognise it.
    client = _client(manager_a)
    monkeypatch.setattr(auth, "get_user", _outage)
    response = client.get("/relationships/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "briefly unavailable" in response.content.decode()


@pytest.mark.django_db
def test_a_database_outage_on_the_api_answers_json_503(production, manager_a, monkeypatch):
    monkeypatch.setattr(relationship_selectors, "relationships_visible_to", _outage)
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(manager_a)
    response = api.get("/api/v1/relationships/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["detail"] == "The service is briefly unavailable; try again shortly."
    assert "5432" not in response.content.decode()


@pytest.mark.django_db
def test_a_database_outage_outside_drf_under_api_answers_json_too(
    production, manager_a, monkeypatch
):
    # Loading the user fails before DRF runs: the answer is still JSON for an API client.
    client = _client(manager_a)
    monkeypatch.setattr(auth, "get_user", _outage)
    response = client.get("/api/v1/relationships/")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("The service is briefly unavailable")


def test_the_503_page_renders_without_the_database():
    request = RequestFactory().get("/relationships/")
    response = core_views.service_unavailable(request, OperationalError("down"))
    assert response.status_code == 503
    assert request.error_id in response.content.decode()


# --- 400 / 403 / 404 in the product's look ---------------------------------------------------


@pytest.mark.django_db
def test_a_missing_page_keeps_the_navigation_for_a_signed_in_user(production, manager_a):
    response = _client(manager_a).get(
        "/relationships/999999/", HTTP_REFERER="http://testserver/relationships/"
    )
    assert response.status_code == 404
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    assert "find that page" in html
    assert 'aria-label="Main navigation"' in html and 'id="main-nav"' in html
    assert str(manager_a) in html  # the account menu
    assert 'action="/search/"' in html  # a way on: search
    assert 'href="/relationships/"' in html  # and back
    assert 'href="/"' in html  # and home


@pytest.mark.django_db
def test_a_missing_page_is_usable_when_signed_out(production):
    response = _client().get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    assert "find that page" in html
    assert 'id="main-nav"' not in html  # nothing a visitor could not open
    assert 'href="/accounts/login/"' in html


@pytest.mark.django_db
def test_a_refusal_explains_itself_in_the_product_look(production, contributor_a):
    response = _client(contributor_a).get("/relationships/new/")
    assert response.status_code == 403
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    assert "You may not do this" in html
    assert "Only relationship managers and admins open relationships." in html
    assert 'id="main-nav"' in html


@pytest.mark.django_db
def test_a_bad_request_answers_the_400_page(production, manager_a):
    response = _client(manager_a).get("/_test/suspicious/")
    assert response.status_code == 400
    html = response.content.decode()
    _assert_looks_like_rapport(html)
    assert "We could not understand that request" in html
    assert "tampered input" not in html


@pytest.mark.django_db
def test_an_unknown_host_answers_the_400_page(production):
    response = _client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


@pytest.mark.django_db
def test_a_stale_form_explains_what_to_do(production, manager_a):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(manager_a)
    response = client.post("/accounts/profile/", {"first_name": "X"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html
    assert 'id="main-nav"' in html
    assert "CSRF token" not in html and "CSRF cookie" not in html  # Django's reason is for devs


@pytest.mark.django_db
def test_the_back_link_never_leaves_the_site(production, manager_a):
    client = _client(manager_a)
    for referer in (
        "https://evil.example/phish",
        "http://testserver//evil.example/",
        "javascript:alert(1)",
    ):
        html = client.get("/no-such-page/", HTTP_REFERER=referer).content.decode()
        assert "Back to the previous page" not in html, referer


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="a real driver error needs PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_that_refuses_connections_answers_503_not_500(production, manager_a):
    # psycopg's own OperationalError, as during a PostgreSQL restart: nothing monkeypatched
    # but the port the next connection goes to.
    from django.db import connection

    client = _client(manager_a)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        page = client.get("/relationships/")
        api = client.get("/api/v1/relationships/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "briefly unavailable" in page.content.decode()
    assert api.status_code == 503
    assert api.json()["detail"] == "The service is briefly unavailable; try again shortly."

"""Paging on every list of the API, found from the OpenAPI document (a new list is covered
without a line here).

A list is paged one of three ways, and says so in the document: by number (``page``,
``page_size``, with ``count``), by cursor (``cursor`` from the ``next`` link, no ``count``)
or not at all (one answer, every row). A paging parameter of another way is refused with
400 naming it and the way to page (``paged_by_number``, ``paged_by_cursor``,
``not_paged``): ignored, ``?page=2`` answered page 1 again and a client looping until a page
came back empty never stopped (issue #16). A page number past the last answers 404
``page_out_of_range``, as DRF does, saying how many pages there are."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from drf_spectacular.generators import SchemaGenerator

from notifications.services import notification_create
from tests.api.conftest import api_error
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)


def _lists() -> dict[str, str]:
    """Every list operation's path → how it is paged: "number", "cursor" or "none"."""
    found = {}
    for path, operations in DOCUMENT["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        names = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        if "page" in names:
            found[path] = "number"
        elif "cursor" in names:
            found[path] = "cursor"
        elif schema.get("type") == "array":
            found[path] = "none"
    return found


LISTS = _lists()
BY_NUMBER = sorted(path for path, way in LISTS.items() if way == "number")
BY_CURSOR = sorted(path for path, way in LISTS.items() if way == "cursor")
NOT_PAGED = sorted(path for path, way in LISTS.items() if way == "none")


def test_the_document_lists_every_kind_of_list():
    assert "/api/v1/interactions/" in BY_CURSOR and "/api/v1/events/" in BY_CURSOR
    assert "/api/v1/relationships/" in BY_NUMBER and "/api/v1/categories/" in BY_NUMBER
    assert "/api/v1/relationship-types/" in BY_NUMBER
    assert NOT_PAGED == ["/api/v1/objectives/tree/"]
    assert len(BY_NUMBER) >= 18


@pytest.fixture
def caller(as_user, admin_user, world, manager_a):
    """An admin (who sees every row) in a world with two of most things."""
    for relationship in (world["own"].relationship, world["secret"].relationship):
        InteractionFactory(relationship=relationship)
    for n in range(3):
        notification_create(recipient=admin_user, kind="note", title=f"N{n}", url="/")
    return as_user(admin_user)


def _refused(response, status: int, code: str, field: str) -> dict:
    assert response.status_code == status, response.content
    body = api_error(response)
    assert (body["code"], body["field"]) == (code, field), body
    return body


def _walk(api, url: str) -> list[dict]:
    """Every page from ``url``, following ``next``."""
    pages = [api.get(url)]
    while pages[-1].json()["next"]:
        assert len(pages) < 100, "next never ends"
        pages.append(api.get(pages[-1].json()["next"]))
    return pages


# --- Paged by number ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", BY_NUMBER)
def test_a_numbered_list_pages_and_refuses_a_page_past_the_last(caller, path):
    pages = _walk(caller, f"{path}?page_size=1")
    count = pages[0].json()["count"]
    ids = [row["id"] for page in pages for row in page.json()["results"]]
    assert len(ids) == count == len(set(ids)), "each row once, none skipped"
    last = max(count, 1)
    if count >= 2:
        second = caller.get(path, {"page": 2, "page_size": 1}).json()["results"]
        assert [row["id"] for row in second] == ids[1:2]  # not page 1 again
    at_end = caller.get(path, {"page": "last", "page_size": 1})
    assert at_end.status_code == 200 and at_end.json()["next"] is None

    past = caller.get(path, {"page": last + 1, "page_size": 1})
    body = _refused(past, 404, "page_out_of_range", "page")
    assert f"no page {last + 1}" in body["detail"] and f"has {last} page" in body["detail"]
    _refused(caller.get(path, {"page": 999}), 404, "page_out_of_range", "page")
    for bad in ("0", "-1", "two"):
        _refused(caller.get(path, {"page": bad}), 400, "invalid", "page")
    _refused(caller.get(path, {"page_size": "0"}), 400, "invalid", "page_size")


@pytest.mark.parametrize("path", BY_NUMBER)
@pytest.mark.parametrize("name", ["cursor", "offset", "limit"])
def test_a_numbered_list_refuses_other_paging_parameters(caller, path, name):
    body = _refused(caller.get(path, {name: "10"}), 400, "paged_by_number", name)
    assert "paged by number" in body["detail"] and "`page`" in body["detail"]


# --- Paged by cursor ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", BY_CURSOR)
@pytest.mark.parametrize("page", ["2", "999", "1"])
def test_a_cursor_list_refuses_a_page_number_pointing_to_next(caller, path, page):
    """The bug report: ?page=2&page_size=3 answered page 1 again, ?page=999 a 200."""
    body = _refused(
        caller.get(path, {"page": page, "page_size": 3}), 400, "paged_by_cursor", "page"
    )
    assert "paged by cursor" in body["detail"] and "`next`" in body["detail"]


@pytest.mark.parametrize("path", BY_CURSOR)
@pytest.mark.parametrize("name", ["offset", "limit"])
def test_a_cursor_list_refuses_offset_and_limit(caller, path, name):
    _refused(caller.get(path, {name: "3"}), 400, "paged_by_cursor", name)


@pytest.mark.parametrize("path", BY_CURSOR)
def test_a_cursor_list_pages_by_its_next_links_and_refuses_a_made_up_cursor(caller, path):
    pages = _walk(caller, f"{path}?page_size=1")
    ids = [row["id"] for page in pages for row in page.json()["results"]]
    assert len(ids) == len(set(ids))
    assert "count" not in pages[0].json()
    for page in pages[:-1]:
        assert "cursor" in parse_qs(urlsplit(page.json()["next"]).query)
    _refused(caller.get(path, {"cursor": "made-up"}), 400, "invalid_cursor", "cursor")
    # Empty means "not given", as for every parameter: the first page.
    assert caller.get(path, {"page": "", "cursor": ""}).status_code == 200


# --- Not paged ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOT_PAGED)
@pytest.mark.parametrize("name", ["page", "page_size", "cursor", "offset", "limit"])
def test_a_list_that_is_not_paged_refuses_paging_parameters(caller, path, name):
    body = _refused(caller.get(path, {name: "2"}), 400, "not_paged", name)
    assert "every row" in body["detail"]
    assert isinstance(caller.get(path).json(), list)


# --- The document says all this ----------------------------------------------------------------


@pytest.mark.parametrize("path", BY_NUMBER + BY_CURSOR + NOT_PAGED)
def test_the_document_says_how_each_list_is_paged_and_what_a_wrong_page_answers(path):
    operation = DOCUMENT["paths"][path]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    responses = operation["responses"]
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }
    way = LISTS[path]
    if way == "number":
        assert "page_out_of_range" in parameters["page"]["description"]
        assert "paged_by_number" in parameters["page"]["description"]
        assert "page_out_of_range" in responses["404"]["description"]
        assert "cursor" not in parameters
    elif way == "cursor":
        assert "paged_by_cursor" in parameters["cursor"]["description"]
        assert "`next`" in parameters["cursor"]["description"]
        assert "page" not in parameters and "404" not in responses
    else:
        assert "not_paged" in operation["description"]
        assert not {"page", "page_size", "cursor"} & set(parameters)
    assert "paged_by_cursor" in responses["400"]["description"]

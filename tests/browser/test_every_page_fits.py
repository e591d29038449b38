"""Every main page in a real browser, on a phone (390×844) and on a desktop: no sideways page
scroll, the page's key action on screen, and nothing in the console (the CSP blocks every
inline style and script, so a violation shows up here as an error)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from notifications.services import notification_create
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from reviews.models import FeedbackRequest, Review, hash_nonce
from reviews.services import (
    feedback_response_submit,
    feedback_token,
    review_ask_reviewer,
    review_complete,
)
from tests.browser.fixtures import sign_in
from tests.factories import (
    TEST_PASSWORD,
    CommitmentFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    UserFactory,
    ValueRecordFactory,
)
from webhooks.models import EventType
from webhooks.services import endpoint_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LONG_NAME = "Northumbria Community Housing and Regeneration Partnership Trust"


def complete(relationship, by, ratings: dict[str, int], decision="grow", note=""):
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    return review_complete(
        review=review,
        ratings=ratings,
        went_well="The joint pilot shipped on time",
        went_badly="Invoicing was slow",
        decision=decision,
        decision_note=note,
        by=by,
    )


def seed(user) -> dict[str, int | str]:
    """Enough of everything that each page has rows to lay out, all seen by ``user``; returns
    the ids (and the survey link's token) the pages' addresses need."""
    today = timezone.localdate()
    rel_type = RelationshipTypeFactory(name="Strategic partner", default_review_cadence_days=90)
    stakeholder = StakeholderFactory(name=LONG_NAME, website="https://example.org/housing")
    contact = ContactFactory(stakeholder=stakeholder, name="Jo Contact", role="Director")
    reviewed = RelationshipFactory(
        stakeholder=stakeholder, type=rel_type, manager=user, stage="review", is_key=True
    )
    # Two completed reviews: the relationship page draws rating trends.
    complete(
        reviewed,
        user,
        {"trust": 3, "communication": 2, "value_to_us": 4, "value_to_them": 3, "overall": 3},
    )
    reviewed.refresh_from_db()
    complete(
        reviewed,
        user,
        {"trust": 4, "communication": 4, "value_to_us": 5, "value_to_them": 3, "overall": 4},
        decision="change",
        note="Narrow the partnership to the retrofit programme and the apprenticeships.",
    )
    InteractionFactory(relationship=reviewed, summary="Quarterly partnering session " * 4)
    CommitmentFactory(relationship=reviewed, owner=user, due_on=today - timedelta(days=2))
    ValueRecordFactory(relationship=reviewed)
    # Stakeholder feedback: the perception gap, and a link still open (the public page). The
    # requests are made here with a known nonce, as if their e-mails had gone out.
    answered = FeedbackRequest.objects.create(
        relationship=reviewed,
        contact=contact,
        sent_by=user,
        nonce_hash=hash_nonce("done"),
        expires_at=timezone.now() + timedelta(days=14),
    )
    feedback_response_submit(
        token=feedback_token(answered.pk, "done"),
        satisfaction=8,
        responsiveness=4,
        communication=5,
        value=3,
        comment="Quick and clear.",
    )
    open_request = FeedbackRequest.objects.create(
        relationship=reviewed,
        contact=contact,
        sent_by=user,
        nonce_hash=hash_nonce("open"),
        expires_at=timezone.now() + timedelta(days=14),
    )
    others = [
        RelationshipFactory(
            stakeholder=StakeholderFactory(name=f"{LONG_NAME} {n}"),
            type=rel_type,
            manager=user,
            stage=stage,
        )
        for n, stage in enumerate(["build", "pilot", "present", "identify", "build"])
    ]
    due = RelationshipFactory(
        stakeholder=StakeholderFactory(name="Heron Housing"),
        type=rel_type,
        manager=user,
        stage="review",
    )
    due_review = due.reviews.get(status=Review.Status.SCHEDULED)
    Review.objects.filter(pk=due_review.pk).update(due_on=today - timedelta(days=3))
    executive = UserFactory(username="exec_reader", role=Role.EXECUTIVE)
    review_ask_reviewer(review=due_review, reviewer=executive, by=user)
    notification_create(
        recipient=user,
        kind="review_due",
        title=f"Review {LONG_NAME}",
        body="Due today.",
        url=reverse("reviews:detail", args=[due_review.pk]),
    )
    parent = ObjectiveFactory(
        title="Grow community partnerships across the region",
        owner=user,
        kpi_name="Active partnerships",
        kpi_unit="partnerships",
        kpi_baseline=4,
        kpi_target=12,
        kpi_current=7,
    )
    child = ObjectiveFactory(
        title="Ten housing partners in the pilot stage", parent=parent, owner=user
    )
    plan = PlanFactory(owner=user, title="Community partnerships plan 2026/27")
    initiative = InitiativeFactory(
        plan=plan, objective=child, owner=user, people=[user], relationships=[reviewed, *others[:2]]
    )
    endpoint = endpoint_create(
        by=user, url="https://hooks.example.org/rapport", event_types=[EventType.values[0]]
    )
    return {
        "reviewed": reviewed.pk,
        "stakeholder": stakeholder.pk,
        "contact": contact.pk,
        "due_review": due_review.pk,
        "done_review": reviewed.reviews.filter(status=Review.Status.COMPLETED).first().pk,
        "objective": parent.pk,
        "plan": plan.pk,
        "initiative": initiative.pk,
        "endpoint": endpoint.pk,
        "token": feedback_token(open_request.pk, "open"),
    }


class Page(NamedTuple):
    path: str
    # The page's key action or content: on screen left to right, at every size.
    key: str | None = None
    # ... and on a phone's first screen too (the filters do not push the results down).
    first_screen: bool = False


def main_pages(ids: dict) -> list[Page]:
    """Every page a user reaches from the menus: config/urls.py's GET pages, minus the admin,
    the API, the CSV downloads and the fragments htmx loads into them."""
    from dashboard.charts import CHARTS

    rel, stakeholder, contact = ids["reviewed"], ids["stakeholder"], ids["contact"]
    objective, plan = ids["objective"], ids["plan"]
    first_result = "#results tbody a"
    return [
        Page(reverse("home"), "#home-relationships >> text=Log interaction"),
        Page(reverse("dashboard:index"), "#figures", first_screen=True),
        Page(reverse("dashboard:chart", args=[next(iter(CHARTS))])),
        Page(reverse("search") + "?q=Northumbria", "#main a[href^='/stakeholders/']"),
        Page(reverse("stakeholders:index"), first_result, first_screen=True),
        Page(reverse("stakeholders:index") + "?q=Northumbria", first_result),
        Page(reverse("stakeholders:create"), "#main button[type=submit]"),
        Page(reverse("stakeholders:detail", args=[stakeholder])),
        Page(reverse("stakeholders:edit", args=[stakeholder])),
        Page(reverse("stakeholders:merge", args=[stakeholder])),
        Page(reverse("stakeholders:import"), "#main button[type=submit]"),
        Page(reverse("stakeholders:contacts"), first_result, first_screen=True),
        Page(reverse("stakeholders:contact_create")),
        Page(reverse("stakeholders:contact_detail", args=[contact])),
        Page(reverse("stakeholders:contact_edit", args=[contact])),
        Page(reverse("relationships:index"), first_result, first_screen=True),
        Page(reverse("relationships:index") + "?stage=build", first_result),
        Page(reverse("relationships:create")),
        Page(reverse("relationships:board"), "#board", first_screen=True),
        Page(reverse("relationships:my_commitments")),
        Page(reverse("relationships:detail", args=[rel]), "#quick-log button[type=submit]"),
        Page(reverse("relationships:edit", args=[rel])),
        Page(reverse("plans:index")),
        Page(reverse("plans:contribution")),
        Page(reverse("plans:objective_create")),
        Page(reverse("plans:objective_detail", args=[objective])),
        Page(reverse("plans:objective_edit", args=[objective])),
        Page(reverse("plans:objective_delete", args=[objective])),
        Page(reverse("plans:plan_list")),
        Page(reverse("plans:plan_create")),
        Page(reverse("plans:plan_detail", args=[plan])),
        Page(reverse("plans:plan_edit", args=[plan])),
        Page(reverse("plans:initiative_create", args=[plan])),
        Page(reverse("plans:initiative_edit", args=[ids["initiative"]])),
        Page(reverse("reviews:index")),
        Page(reverse("reviews:detail", args=[ids["due_review"]]), "text=Complete review"),
        Page(reverse("reviews:detail", args=[ids["done_review"]])),
        Page(reverse("reviews:relationship", args=[rel]), "#rating-trends"),
        Page(reverse("reviews:feedback_request", args=[rel])),
        Page(reverse("notifications:index")),
        Page(reverse("notifications:preferences")),
        Page(reverse("webhooks:index")),
        Page(reverse("webhooks:create")),
        Page(reverse("webhooks:detail", args=[ids["endpoint"]])),
        Page(reverse("webhooks:edit", args=[ids["endpoint"]])),
        Page(reverse("security:log"), "#main table", first_screen=True),
        Page(reverse("events:organisation"), "#feed", first_screen=True),
        Page(reverse("events:mine")),
        Page(reverse("events:relationship", args=[rel])),
        Page(reverse("events:stakeholder", args=[stakeholder])),
        Page(reverse("profile")),
        Page(reverse("password_change")),
        Page(reverse("two_factor_setup")),
        Page(reverse("feedback:answer", args=[ids["token"]]), "button[type=submit]"),
    ]


# htmx is done: no request in flight, nothing being swapped or settled (the badge and the
# deferred charts load as the page opens).
HTMX_IDLE = """() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"""

# The deepest elements sticking out past the right edge: where to look when a page is wide.
WIDEST_ELEMENTS = """width => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > width + 1 && el.children.length === 0)
  .slice(0, 4)
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''))"""


def check(page, target: Page, viewport: dict) -> list[str]:
    """What is wrong with one page at one size (nothing: an empty list)."""
    page.console_errors.clear()
    response = page.goto(target.path)
    page.wait_for_function(HTMX_IDLE)
    where = f"{target.path} at {viewport['width']}px"
    problems = []
    if response.status != 200:
        problems.append(f"{where}: HTTP {response.status}")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        wide = page.evaluate(WIDEST_ELEMENTS, viewport["width"])
        problems.append(f"{where}: scrolls sideways ({width}px wide: {wide})")
    if target.key:
        left, right, top = page.locator(target.key).first.evaluate(
            "el => { const r = el.getBoundingClientRect(); return [r.left, r.right, r.top] }"
        )
        if left < 0 or right > viewport["width"]:
            problems.append(f"{where}: {target.key} is off-screen ({left}–{right}px)")
        if target.first_screen and viewport is PHONE and top >= viewport["height"]:
            problems.append(f"{where}: {target.key} is below the first screen ({top}px)")
    problems += [f"{where}: console: {error}" for error in page.console_errors]

    return problems


def test_every_main_page_fits_a_phone_and_logs_no_console_error(page, admin_user):
    ids = seed(admin_user)
    problems = []
    page.set_viewport_size(PHONE)
    for path in (reverse("login"), reverse("password_reset")):
        problems += check(page, Page(path, "button[type=submit]"), PHONE)
    sign_in(page, "boss", TEST_PASSWORD)
    page.wait_for_url("**/")
    # On a phone the search box is in the top bar, not behind the menu button.
    assert page.get_by_role("searchbox", name="Search stakeholders").is_visible()
    pages = main_pages(ids)
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for target in pages:
            problems += check(page, target, viewport)
    problems += htmx_swap_problems(page, ids["due_review"])
    assert not problems, "\n".join(problems)


def htmx_swap_problems(page, review_pk: int) -> list[str]:
    """Elements often carry a style attribute the server never sent: Bootstrap's scripts and
    browser extensions (password managers) set one. htmx copied it onto the element it swapped
    in, with setAttribute, which the CSP blocks: 31 errors on an invalid review form."""
    page.goto(reverse("reviews:detail", args=[review_pk]))
    page.console_errors.clear()
    page.evaluate(
        "document.querySelectorAll('#complete-form [id]')"
        ".forEach(el => { el.style.backgroundImage = 'none' })"  # CSSOM: the CSP allows it
    )
    page.get_by_role("button", name="Complete review").click()  # nothing chosen: errors
    page.locator("#complete-form .invalid-feedback").first.wait_for()
    page.wait_for_function(HTMX_IDLE)
    return [f"the review form's htmx swap: console: {error}" for error in page.console_errors]

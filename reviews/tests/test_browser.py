"""A manager completes a due review in a real browser, deciding "change"."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from relationships.models import Stage
from reviews.models import Review
from tests.browser.fixtures import sign_in
from tests.factories import TEST_PASSWORD, RelationshipFactory, StakeholderFactory

pytestmark = [
    pytest.mark.browser,
    # Transactional: the other thread/process must see the rows. Serialized rollback puts
    # back the data-migration rows (categories, types) that the flush afterwards removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manager_completes_a_due_review_deciding_change_and_sees_it_back_in_present(
    page, manager_a, team_a, rel_type
):
    relationship = RelationshipFactory(
        manager=manager_a,
        team=team_a,
        type=rel_type,
        stage="review",
        stakeholder=StakeholderFactory(name="Heron Housing"),
    )
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    Review.objects.filter(pk=review.pk).update(due_on=timezone.localdate())

    sign_in(page, "manager_a", TEST_PASSWORD)
    page.goto("/reviews/")
    page.locator("#due-soon").get_by_role("link", name="Heron Housing").click()
    page.get_by_text("Complete the review").wait_for()
    for question in ("trust", "communication", "value_to_us", "value_to_them", "overall"):
        page.locator(f"label[for=id_{question}_3]").click()  # 4 out of 5
    page.get_by_label("What went well?").fill("The pilot delivered.")
    page.get_by_label("Change: reflect an emerging realisation").check()
    page.get_by_label("What changes, or why it ends").fill("Focus on the retrofit programme.")
    page.get_by_role("button", name="Complete review").click()

    page.locator("#review-outcome").wait_for()
    assert "The relationship is now in Present" in page.locator("#relationship-stage").inner_text()
    assert page.locator("#current-stage").inner_text() == "Present"
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PRESENT
    try:
        detail = reverse("relationships:detail", args=[relationship.pk])
    except NoReverseMatch:
        detail = None  # the relationship page is another engineer's work in progress
    if detail:
        page.goto(detail)
        assert "Present" in page.content()
    assert page.console_errors == []

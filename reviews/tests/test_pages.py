"""The reviews pages: what each user sees, the form's inline validation, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from relationships.models import Stage
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from reviews.selectors import satisfaction_summary
from tests.factories import RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

FORM = {
    "trust": "4",
    "communication": "4",
    "value_to_us": "4",
    "value_to_them": "4",
    "overall": "4",
    "went_well": "Good pilot",
    "went_badly": "",
}


def make(manager, team, rel_type, due_in, name, **extra):
    relationship = RelationshipFactory(
        manager=manager,
        team=team,
        type=rel_type,
        stage="build",
        stakeholder=StakeholderFactory(name=name),
        **extra,
    )
    Review.objects.filter(relationship=relationship).update(
        due_on=timezone.localdate() + timedelta(days=due_in)
    )
    return relationship


def test_my_reviews_lists_overdue_due_soon_and_completed(client, manager_a, team_a, rel_type):
    make(manager_a, team_a, rel_type, -3, "Late Ltd")
    make(manager_a, team_a, rel_type, 0, "Today plc")
    make(manager_a, team_a, rel_type, 5, "Soon Co")
    make(manager_a, team_a, rel_type, 40, "Later Inc")
    client.force_login(manager_a)
    html = client.get(reverse("reviews:index")).content.decode()
    overdue = html[html.index('id="overdue"') : html.index('id="due-soon"')]
    due_soon = html[html.index('id="due-soon"') : html.index('id="completed"')]
    assert "Late Ltd" in overdue and "Overdue" in overdue
    assert "Today plc" in due_soon and "Soon Co" in due_soon and "Due" in due_soon
    assert "Later Inc" not in html


def test_executives_see_the_reviews_they_are_asked_for(
    client, manager_a, team_a, rel_type, executive
):
    asked = make(manager_a, team_a, rel_type, 1, "Asked About")
    make(manager_a, team_a, rel_type, 1, "Not Asked")
    asked.reviews.get().reviewers.add(executive)
    client.force_login(executive)
    html = client.get(reverse("reviews:index")).content.decode()
    assert "Asked About" in html and "Not Asked" not in html


def test_the_reviews_page_query_count_does_not_grow_with_rows(
    client, manager_a, team_a, rel_type, django_assert_max_num_queries
):
    for n in range(15):
        make(manager_a, team_a, rel_type, n % 10 - 5, f"Org {n}")
    client.force_login(manager_a)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("reviews:index"))
    assert response.content.decode().count('href="/reviews/') >= 15


def test_a_confidential_relationships_review_is_404_for_outsiders(
    client, manager_a, manager_b, team_a, rel_type
):
    relationship = make(manager_a, team_a, rel_type, 0, "Secret", confidential=True)
    review = relationship.reviews.get()
    client.force_login(manager_b)
    assert client.get(reverse("reviews:detail", args=[review.pk])).status_code == 404
    assert client.get(reverse("reviews:relationship", args=[relationship.pk])).status_code == 404
    assert client.post(reverse("reviews:start", args=[relationship.pk])).status_code == 404


def test_someone_who_may_only_read_sees_the_review_without_the_form(
    client, relationship, manager_b
):
    review = relationship.reviews.get()
    client.force_login(manager_b)
    response = client.get(reverse("reviews:detail", args=[review.pk]))
    assert response.status_code == 200
    assert 'id="complete-form"' not in response.content.decode()
    assert client.post(reverse("reviews:detail", args=[review.pk]), FORM).status_code == 404
    assert relationship.reviews.get().is_open


def test_htmx_completion_errors_render_inline_in_the_form_partial(client, relationship, manager_a):
    review = relationship.reviews.get()
    client.force_login(manager_a)
    response = client.post(
        reverse("reviews:detail", args=[review.pk]),
        {**FORM, "trust": "", "decision": "end", "decision_note": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<form")  # just the partial
    assert "Ending a relationship needs a reason" in html
    assert 'id="id_trust_error"' in html
    assert "HX-Request" in response.headers["Vary"]
    relationship.refresh_from_db()
    assert relationship.stage == Stage.REVIEW


def test_completing_with_htmx_redirects_the_client_to_the_review(client, relationship, manager_a):
    review = relationship.reviews.get()
    client.force_login(manager_a)
    response = client.post(
        reverse("reviews:detail", args=[review.pk]),
        {**FORM, "decision": "grow"},
        headers={"HX-Request": "true"},
    )
    assert response.headers["HX-Redirect"] == reverse("reviews:detail", args=[review.pk])


def test_completing_with_a_plain_post_shows_the_new_stage(client, relationship, manager_a):
    review = relationship.reviews.get()
    client.force_login(manager_a)
    response = client.post(
        reverse("reviews:detail", args=[review.pk]),
        {**FORM, "decision": "change", "decision_note": "New scope"},
        follow=True,
    )
    html = response.content.decode()
    assert "The relationship is now in Present" in html
    assert 'id="current-stage">Present<' in html


def test_start_review_opens_it_now(client, manager_a, team_a, rel_type):
    relationship = make(manager_a, team_a, rel_type, 30, "Early")
    client.force_login(manager_a)
    response = client.post(reverse("reviews:start", args=[relationship.pk]))
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    assert response.url == reverse("reviews:detail", args=[review.pk])
    assert review.due_on == timezone.localdate()
    relationship.refresh_from_db()
    assert relationship.stage == Stage.REVIEW


def test_the_relationship_history_shows_trends_with_an_svg_sparkline(
    client, relationship, manager_a, django_assert_max_num_queries
):
    from reviews.services import review_complete

    for overall in (2, 3, 5):
        relationship.refresh_from_db()
        if relationship.stage != Stage.REVIEW:
            from relationships.services import relationship_transition

            relationship_transition(relationship=relationship, to_stage="review", by=manager_a)
        review = relationship.reviews.get(status=Review.Status.SCHEDULED)
        ratings = dict.fromkeys(("trust", "communication", "value_to_us", "value_to_them"), overall)
        review_complete(
            review=review, ratings={**ratings, "overall": overall}, decision="grow", by=manager_a
        )
    client.force_login(manager_a)
    url = reverse("reviews:relationship", args=[relationship.pk])
    with django_assert_max_num_queries(14):
        response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="relationship-reviews"' in html
    assert "<svg" in html and 'aria-label="Overall satisfaction: 2, 3, 5"' in html
    assert "▲ +2" in html
    assert "<script" not in html and "style=" not in html
    assert html.count("<tr><td><a href=") == 3


def test_the_feedback_request_form_sends_and_lists_the_pending_request(
    client, relationship, contact, manager_a, django_capture_on_commit_callbacks
):
    client.force_login(manager_a)
    url = reverse("reviews:feedback_request", args=[relationship.pk])
    assert contact.name in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact": contact.pk, "message": "Thanks!"}, follow=True)
    assert "Feedback request sent to Jo Contact" in response.content.decode()
    assert "Waiting for Jo Contact" in response.content.decode()
    assert FeedbackRequest.objects.get().sent_at is not None


def test_satisfaction_summary_for_the_dashboard_is_scoped(
    relationship, contact, manager_b, manager_a
):
    for score in (10, 9, 6, 8):
        request = FeedbackRequest.objects.create(
            relationship=relationship,
            contact=contact,
            sent_by=manager_a,
            expires_at=timezone.now() + timedelta(days=1),
        )
        FeedbackResponse.objects.create(
            request=request,
            relationship=relationship,
            satisfaction=score,
            responsiveness=4,
            communication=4,
            value=4,
        )
    assert satisfaction_summary(manager_a) == {
        "days": 90,
        "responses": 4,
        "average": 8.2,
        "net_score": 25,
    }
    relationship.confidential = True
    relationship.save()
    assert satisfaction_summary(manager_b)["responses"] == 0


def test_the_relationship_page_block_renders_from_the_template_tag(rf, relationship, manager_a):
    from django.template import Context, Template

    request = rf.get("/")
    request.user = manager_a
    html = Template("{% load reviews_tags %}{% relationship_reviews relationship %}").render(
        Context({"request": request, "relationship": relationship, "csrf_token": "t0ken"})
    )
    assert 'id="relationship-reviews"' in html
    assert "Start review now" in html and 'value="t0ken"' in html

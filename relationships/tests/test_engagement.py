"""Quick logging, follow-ups, commitments, value and the manager's rating on the detail page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from relationships import services
from relationships.models import Commitment, Interaction
from relationships.tests.helpers import HTMX, client_for
from tests.factories import (
    CommitmentFactory,
    ContactFactory,
    RelationshipFactory,
    ValueRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a)


def log_url(relationship) -> str:
    return reverse("relationships:interaction_new", args=[relationship.pk])


def quick_log(**overrides) -> dict:
    return {
        "occurred_on": timezone.localdate().isoformat(),
        "channel": "call",
        "summary": "Talked through the pilot plan",
        "sentiment": "1",
        **overrides,
    }


def test_the_detail_page_offers_the_quick_log_form(manager_a, owned):
    content = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert 'id="quick-log"' in content
    assert f'hx-post="{log_url(owned)}"' in content
    assert f'value="{timezone.localdate().isoformat()}"' in content  # date defaults to today


def test_quick_log_over_htmx_returns_a_fragment_and_creates_the_interaction(manager_a, owned):
    contact = ContactFactory(stakeholder=owned.stakeholder, name="Ada Contact")
    response = client_for(manager_a).post(
        log_url(owned),
        quick_log(participant_contacts=[contact.pk], participant_users=[manager_a.pk]),
        **HTMX,
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="quick-log"' in content  # a fresh form
    assert '<div id="timeline-entries" hx-swap-oob="true">' in content  # the timeline, fresh
    assert "Talked through the pilot plan" in content
    assert 'id="health"' in content
    assert 'hx-swap-oob="true"' in content  # the health card is refreshed in place
    interaction = Interaction.objects.get(relationship=owned)
    assert interaction.created_by == manager_a
    assert list(interaction.participant_contacts.all()) == [contact]
    owned.refresh_from_db()
    assert owned.last_interaction_on == timezone.localdate()


def test_quick_log_as_plain_post_redirects_to_the_detail_page(manager_a, owned):
    response = client_for(manager_a).post(log_url(owned), quick_log())
    assert response.status_code == 302
    assert response["Location"] == owned.get_absolute_url()
    assert Interaction.objects.filter(relationship=owned).count() == 1


def test_quick_log_errors_show_inline_in_the_fragment(manager_a, owned):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client_for(manager_a).post(log_url(owned), quick_log(occurred_on=tomorrow), **HTMX)
    content = response.content.decode()
    assert "An interaction cannot be in the future." in content
    assert "invalid-feedback" in content
    assert not Interaction.objects.exists()


def test_a_key_experience_needs_its_outcome(manager_a, owned):
    response = client_for(manager_a).post(log_url(owned), quick_log(is_key_experience="on"), **HTMX)
    assert "A key experience needs its outcome" in response.content.decode()
    client_for(manager_a).post(
        log_url(owned), quick_log(is_key_experience="on", outcome="success"), **HTMX
    )
    assert Interaction.objects.get().is_key_experience


def test_a_follow_up_becomes_a_commitment_of_ours(manager_a, contributor_a, owned):
    due = timezone.localdate() + timedelta(days=7)
    client_for(manager_a).post(
        log_url(owned),
        quick_log(
            follow_up="Send the draft agreement",
            follow_up_due_on=due.isoformat(),
            follow_up_owner=contributor_a.pk,
        ),
        **HTMX,
    )
    commitment = Commitment.objects.get()
    assert commitment.direction == Commitment.Direction.OURS
    assert commitment.owner == contributor_a
    assert commitment.due_on == due
    assert commitment.source_interaction == Interaction.objects.get()


def test_a_follow_up_without_owner_is_the_loggers(manager_a, owned):
    client_for(manager_a).post(log_url(owned), quick_log(follow_up="Call back"), **HTMX)
    assert Commitment.objects.get().owner == manager_a


def test_overdue_commitments_stand_out_and_are_counted(manager_a, owned):
    yesterday = timezone.localdate() - timedelta(days=1)
    CommitmentFactory(relationship=owned, description="Late promise", due_on=yesterday)
    CommitmentFactory(relationship=owned, status="kept")
    CommitmentFactory(relationship=owned, status="kept")
    CommitmentFactory(relationship=owned, status="broken", direction="theirs")
    content = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert "2 kept" in content
    assert "1 broken" in content
    assert "1 open" in content
    assert "1 overdue" in content
    assert "Overdue" in content


def test_the_owners_page_lists_open_commitments_overdue_first(manager_a, owned):
    today = timezone.localdate()
    CommitmentFactory(relationship=owned, owner=manager_a, description="Later", due_on=today)
    CommitmentFactory(
        relationship=owned, owner=manager_a, description="Way late", due_on=today - timedelta(5)
    )
    CommitmentFactory(relationship=owned, owner=manager_a, description="Done", status="kept")
    CommitmentFactory(relationship=owned, description="Someone else's")
    content = client_for(manager_a).get(reverse("relationships:my_commitments")).content.decode()
    assert content.index("Way late") < content.index("Later")
    assert "Done" not in content
    assert "Someone else&#x27;s" not in content
    assert "1 overdue" in content


def test_marking_a_commitment_kept(manager_a, owned):
    commitment = CommitmentFactory(relationship=owned, owner=manager_a)
    response = client_for(manager_a).post(
        reverse("relationships:commitment_status", args=[commitment.pk]),
        {"status": "kept"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "1 kept" in response.content.decode()
    commitment.refresh_from_db()
    assert commitment.status == "kept"
    assert commitment.closed_on == timezone.localdate()


def test_adding_a_commitment_of_theirs(manager_a, owned):
    response = client_for(manager_a).post(
        reverse("relationships:commitment_new", args=[owned.pk]),
        {"direction": "theirs", "description": "Share usage figures"},
    )
    assert response.status_code == 302
    commitment = Commitment.objects.get()
    assert (commitment.direction, commitment.owner) == ("theirs", manager_a)


def test_value_shows_running_totals_per_kind_and_unit(manager_a, owned):
    ValueRecordFactory(relationship=owned, amount=Decimal("1000"), unit="GBP")
    ValueRecordFactory(relationship=owned, amount=Decimal("250.50"), unit="GBP")
    ValueRecordFactory(relationship=owned, kind="volunteer_hours", amount=12, unit="hours")
    ValueRecordFactory(relationship=owned, kind="qualitative", amount=None, unit="", note="Trust")
    content = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert "1250.50 GBP" in content
    assert "12 hours" in content
    assert 'id="value-by-month"' in content


def test_recording_value_over_htmx_updates_the_totals(manager_a, owned):
    ValueRecordFactory(relationship=owned, amount=Decimal("100"), unit="EUR")
    response = client_for(manager_a).post(
        reverse("relationships:value_new", args=[owned.pk]),
        {
            "recorded_on": timezone.localdate().isoformat(),
            "kind": "revenue",
            "amount": "50",
            "unit": "eur",
        },
        **HTMX,
    )
    content = response.content.decode()
    assert "<html" not in content
    assert "150 EUR" in content


def test_quantitative_value_needs_an_amount(manager_a, owned):
    response = client_for(manager_a).post(
        reverse("relationships:value_new", args=[owned.pk]),
        {"recorded_on": timezone.localdate().isoformat(), "kind": "revenue", "unit": "GBP"},
        **HTMX,
    )
    assert "Enter the amount." in response.content.decode()


def test_the_manager_rates_the_relationship_beside_the_computed_score(manager_a, owned):
    response = client_for(manager_a).post(
        reverse("relationships:rating", args=[owned.pk]),
        {"rating": "4", "note": "Solid, slow"},
        **HTMX,
    )
    content = response.content.decode()
    assert "<html" not in content
    assert "manager&#x27;s rating" in content or "manager's rating" in content
    owned.refresh_from_db()
    assert (owned.manager_rating, owned.manager_rating_note) == (4, "Solid, slow")


def test_the_health_score_explains_itself(manager_a, owned):
    services.relationship_refresh_health(owned)
    content = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert "No interaction logged yet" in content
    assert "How the score is computed" in content
    assert "start at 100 and subtract" in content


def test_history_shows_who_changed_what(manager_a, owned):
    client = client_for(manager_a)
    client.post(
        reverse("relationships:edit", args=[owned.pk]),
        {"version": owned.version, "purpose": "A sharper purpose", "review_cadence_days": ""},
    )
    # Loaded on demand: as a fragment when the section scrolls into view, or as a page.
    url = reverse("relationships:history", args=[owned.pk])
    fragment = client.get(url, **HTMX).content.decode()
    assert "purpose: Grow together → A sharper purpose" in fragment
    assert str(manager_a) in fragment
    assert "<html" not in fragment
    page = client.get(url).content.decode()
    assert "purpose: Grow together → A sharper purpose" in page
    assert "<html" in page


def test_marking_kept_from_the_owners_page_returns_the_row(manager_a, owned):
    commitment = CommitmentFactory(relationship=owned, owner=manager_a, description="Row me")
    response = client_for(manager_a).post(
        reverse("relationships:commitment_status", args=[commitment.pk]),
        {"status": "kept", "source": "my"},
        **HTMX,
    )
    content = response.content.decode()
    assert content.strip().startswith(f'<tr id="commitment-{commitment.pk}"')
    assert "Kept" in content


def test_nothing_can_be_logged_on_an_ended_relationship(manager_a, owned):
    owned.stage = "ended"
    owned.save()
    content = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert 'id="quick-log"' not in content
    response = client_for(manager_a).post(log_url(owned), quick_log(), **HTMX)
    assert "This relationship has ended." in response.content.decode()
    assert not Interaction.objects.exists()

"""Value fit, the health score and the records that feed them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import RuleViolation
from relationships.health import HealthFacts, compute_health
from relationships.models import Commitment, Relationship
from relationships.services import (
    commitment_create,
    commitment_set_status,
    relationship_rate,
    relationships_refresh_health_all,
    value_record_create,
)
from stakeholders.models import Stakeholder
from stakeholders.services import (
    assessment_record,
    stakeholder_create,
    stakeholder_merge,
    stakeholders_refresh_value_fit,
    value_fit_for,
)
from tests.factories import (
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueFactory,
)

TODAY = date(2026, 11, 22)


def test_a_fresh_relationship_with_no_contact_is_pulled_down_by_silence():
    score, reasons, lifts = compute_health(HealthFacts(today=TODAY))
    assert score == 60
    assert reasons == ["No interaction logged yet"]
    assert lifts == []


def test_recent_warm_contact_is_full_health_and_says_what_lifts_it():
    facts = HealthFacts(today=TODAY, last_interaction_on=TODAY, recent_sentiments=[2, 2, 2])
    assert compute_health(facts) == (
        100,
        [],
        [
            "In contact within the last 14 days",
            "Average sentiment +2.0 over the last 3 interactions",
        ],
    )


def test_a_warm_sentiment_lifts_the_score_rather_than_pulling_it_down():
    facts = HealthFacts(
        today=TODAY, last_interaction_on=TODAY, recent_sentiments=[1, 1, 0, 1, 0]
    )  # +0.6: costs 7 of the 10 a neutral average costs
    health = compute_health(facts)
    assert health.score == 93
    assert health.reasons == []
    assert "Average sentiment +0.6 over the last 5 interactions" in health.lifts


@pytest.mark.parametrize(
    ("review", "feedback", "score", "reasons", "lifts"),
    [
        (4, None, 95, [], ["Latest review rated 4/5"]),
        (3, None, 90, ["Latest review rated 3/5"], []),
        (None, 5, 90, ["Their latest feedback 5/10 ≈ 3.0/5"], []),
        (None, 8, 96, [], ["Their latest feedback 8/10 ≈ 4.2/5"]),
        # The case: our review 4/5, their 5/10. The blend is 3.5, not "3/5".
        (
            4,
            5,
            92,
            [],
            [
                "Review and feedback 3.5/5, blended from our latest review (4/5) and their "
                "latest feedback (5/10 ≈ 3.0/5)"
            ],
        ),
        (
            2,
            4,
            86,
            [
                "Review and feedback 2.3/5, blended from our latest review (2/5) and their "
                "latest feedback (4/10 ≈ 2.6/5)"
            ],
            [],
        ),
    ],
)
def test_the_rating_reason_names_the_figures_it_is_made_of(review, feedback, score, reasons, lifts):
    facts = HealthFacts(
        today=TODAY,
        last_interaction_on=TODAY,
        recent_sentiments=[2],
        latest_review_rating=review,
        latest_feedback_satisfaction=feedback,
    )
    health = compute_health(facts)
    assert health.score == score
    assert health.reasons == reasons
    # After what every case shares: recent contact and a warm sentiment.
    assert health.lifts[2:] == lifts


def test_each_factor_pulls_the_score_down_and_says_why():
    facts = HealthFacts(
        today=TODAY,
        last_interaction_on=TODAY - timedelta(days=44),  # 30 days past grace → −15
        recent_sentiments=[-1, -1, -1, 1, 1, 1],  # average of 5: −0.2 → −11; falling → −5
        overdue_commitments=2,  # −10
        latest_review_rating=3,  # −10
    )
    score, reasons, lifts = compute_health(facts)
    assert score == 100 - 15 - 11 - 5 - 10 - 10
    assert lifts == []
    assert reasons == [
        "No contact for 44 days",
        "Average sentiment -0.2 over the last 5 interactions",
        "Sentiment is falling",
        "2 overdue commitments of ours",
        "Latest review rated 3/5",
    ]


def test_the_score_never_leaves_0_to_100():
    facts = HealthFacts(
        today=TODAY,
        last_interaction_on=TODAY - timedelta(days=400),
        recent_sentiments=[-2] * 6,
        overdue_commitments=30,
        latest_review_rating=1,
    )
    assert compute_health(facts)[0] == 0


@pytest.mark.django_db
def test_overdue_commitments_of_ours_lower_stored_health(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    InteractionFactory(relationship=relationship, sentiment=2)
    relationships_refresh_health_all()
    relationship.refresh_from_db()
    assert relationship.health_score == 100
    commitment = commitment_create(
        relationship=relationship,
        by=manager_a,
        direction="ours",
        description="Send the draft",
        due_on=timezone.localdate() - timedelta(days=1),
    )
    commitment_create(
        relationship=relationship,
        by=manager_a,
        direction="theirs",
        description="They send data",
        due_on=timezone.localdate() - timedelta(days=1),
    )
    relationship.refresh_from_db()
    assert relationship.health_score == 95  # only ours count against us
    commitment_set_status(commitment=commitment, by=manager_a, status=Commitment.Status.KEPT)
    relationship.refresh_from_db()
    assert relationship.health_score == 100
    assert commitment.closed_on == timezone.localdate()


@pytest.mark.django_db
def test_lists_can_sort_by_stored_health_without_recomputing(manager_a, team_a):
    quiet = RelationshipFactory(manager=manager_a, team=team_a)
    lively = RelationshipFactory(manager=manager_a, team=team_a)
    InteractionFactory(relationship=lively, sentiment=2)
    assert relationships_refresh_health_all() == 2
    ordered = list(Relationship.objects.order_by("-health_score").values_list("pk", flat=True))
    assert ordered == [lively.pk, quiet.pk]


@pytest.mark.django_db
def test_manager_rating_is_kept_beside_the_score(manager_a, team_a, contributor_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    relationship_rate(relationship=relationship, by=manager_a, rating=4, note="Solid")
    relationship.refresh_from_db()
    assert (relationship.manager_rating, relationship.manager_rating_note) == (4, "Solid")
    with pytest.raises(RuleViolation):
        relationship_rate(relationship=relationship, by=manager_a, rating=6)
    with pytest.raises(RuleViolation):
        relationship_rate(relationship=relationship, by=contributor_a, rating=3)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "revenue", "amount": None, "unit": "GBP"}, "amount_required"),
        ({"kind": "revenue", "amount": Decimal("-5"), "unit": "GBP"}, "negative_amount"),
        ({"kind": "revenue", "amount": Decimal("5"), "unit": ""}, "unit_required"),
        ({"kind": "qualitative", "note": ""}, "note_required"),
        ({"kind": "gold"}, "invalid_kind"),
    ],
)
def test_value_records_validate(manager_a, team_a, kwargs, code):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    with pytest.raises(RuleViolation) as caught:
        value_record_create(
            relationship=relationship, by=manager_a, recorded_on=timezone.localdate(), **kwargs
        )
    assert caught.value.code == code
    assert not relationship.value_records.exists()


@pytest.mark.django_db
def test_value_fit_is_the_weighted_share_of_our_values():
    integrity, care, speed = (
        ValueFactory(name="Integrity", weight=3),
        ValueFactory(name="Care", weight=1),
        ValueFactory(name="Speed", weight=1, active=False),
    )
    assert value_fit_for([integrity.pk]) == 75
    assert value_fit_for([care.pk, speed.pk]) == 25  # inactive values don't count
    assert value_fit_for([]) == 0


@pytest.mark.django_db
def test_stored_value_fit_follows_weight_changes():
    integrity, care = ValueFactory(name="Integrity", weight=1), ValueFactory(name="Care", weight=1)
    stakeholder = StakeholderFactory()
    stakeholder.values.set([integrity])
    stakeholders_refresh_value_fit()
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 50
    care.weight = 3
    care.save()
    stakeholders_refresh_value_fit()
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 25


@pytest.mark.django_db
def test_a_duplicate_name_ignoring_case_and_accents_is_flagged(manager_a):
    StakeholderFactory(name="Société Générale")
    with pytest.raises(RuleViolation) as caught:
        stakeholder_create(by=manager_a, name="  SOCIETE generale ")
    assert caught.value.code == "possible_duplicate"
    assert caught.value.duplicates[0].name == "Société Générale"
    created = stakeholder_create(by=manager_a, name="Societe Generale", allow_duplicate=True)
    assert created.pk


@pytest.mark.django_db
def test_a_shared_email_domain_is_flagged_but_not_a_public_one(manager_a):
    existing = StakeholderFactory(name="Acme")
    ContactFactory(stakeholder=existing, email="jo@acme.example")
    with pytest.raises(RuleViolation) as caught:
        stakeholder_create(by=manager_a, name="ACME Holdings", email="info@acme.example")
    assert caught.value.duplicates == [existing]
    StakeholderFactory(name="Someone", email="a@gmail.com")
    assert stakeholder_create(by=manager_a, name="Another", email="b@gmail.com").pk


@pytest.mark.django_db
def test_merge_moves_everything_to_the_survivor(admin_user, manager_a):
    survivor = StakeholderFactory(name="Acme", sector="")
    duplicate = StakeholderFactory(name="ACME Ltd", sector="Manufacturing")
    relationship = RelationshipFactory(stakeholder=duplicate)
    contact = ContactFactory(stakeholder=duplicate)
    assessment_record(stakeholder=duplicate, by=manager_a, power=5, interest=2)
    stakeholder_merge(survivor=survivor, duplicate=duplicate, by=admin_user)
    relationship.refresh_from_db()
    contact.refresh_from_db()
    survivor.refresh_from_db()
    assert relationship.stakeholder == survivor
    assert contact.stakeholder == survivor
    assert survivor.assessments.count() == 1
    assert (survivor.power, survivor.interest, survivor.sector) == (5, 2, "Manufacturing")
    assert not Stakeholder.objects.filter(pk=duplicate.pk).exists()


@pytest.mark.django_db
def test_only_admins_merge(manager_a):
    first, second = StakeholderFactory(), StakeholderFactory()
    with pytest.raises(RuleViolation):
        stakeholder_merge(survivor=first, duplicate=second, by=manager_a)
    assert Stakeholder.objects.count() == 2


@pytest.mark.django_db
def test_assessments_keep_history_and_the_latest_is_current(manager_a):
    stakeholder = StakeholderFactory()
    today = timezone.localdate()
    assessment_record(stakeholder=stakeholder, by=manager_a, power=2, interest=2, assessed_on=today)
    assessment_record(
        stakeholder=stakeholder,
        by=manager_a,
        power=5,
        interest=5,
        assessed_on=today - timedelta(days=30),
    )
    stakeholder.refresh_from_db()
    assert (stakeholder.power, stakeholder.interest) == (2, 2)  # the latest by date wins
    assert stakeholder.assessments.count() == 2
    with pytest.raises(RuleViolation):
        assessment_record(stakeholder=stakeholder, by=manager_a, power=0, interest=3)

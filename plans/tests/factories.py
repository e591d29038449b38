"""factory_boy factories for the plans app (the suite-wide ones live in tests/factories.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from plans import rollups
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from tests.factories import UserFactory


def level(name: str = "Strategic objective") -> ObjectiveLevel:
    """A level seeded by the data migration (created when a test flushed it)."""
    return ObjectiveLevel.objects.get_or_create(name=name, defaults={"position": 20})[0]


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Objective {n}")
    level = factory.LazyFunction(level)
    status = Objective.Status.ACTIVE
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def rollup(self, create, extracted, **kwargs):
        # As plans.services does for every objective it creates: the roll-up read model
        # (its figures and its ancestors') follows.
        if create:
            rollups.refresh([self.pk])


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    title = "Relationship-management plan"
    period = "FY2027"
    owner = factory.SubFactory(UserFactory)
    start_on = date(2026, 7, 1)
    end_on = date(2027, 6, 30)
    currency = "GBP"


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Initiative
        skip_postgeneration_save = True

    plan = factory.SubFactory(PlanFactory)
    title = factory.Sequence(lambda n: f"Initiative {n}")
    objective = factory.SubFactory(ObjectiveFactory)
    owner = factory.SubFactory(UserFactory)
    planned_hours = Decimal("10")
    planned_budget = Decimal("1000")
    currency = "GBP"
    status = Initiative.Status.ACTIVE

    @factory.post_generation
    def people(self, create, extracted, **kwargs):
        if create and extracted:
            self.people.set(extracted)

    @factory.post_generation
    def relationships(self, create, extracted, **kwargs):
        if create and extracted:
            self.relationships.set(extracted)

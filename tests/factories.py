from __future__ import annotations

import factory

from accounts.models import Role, Team, User

TEST_PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.MANAGER
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)
        if create:
            self.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "stakeholders.Category"
        django_get_or_create = ("name",)

    name = "Partner"


class ValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "stakeholders.Value"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Value {n}")
    weight = 1


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "stakeholders.Stakeholder"

    name = factory.Sequence(lambda n: f"Organisation {n}")
    category = factory.SubFactory(CategoryFactory)
    country = "United Kingdom"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "stakeholders.Contact"

    stakeholder = factory.SubFactory(StakeholderFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@example.org")


class RelationshipTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "relationships.RelationshipType"
        django_get_or_create = ("name",)

    name = "Strategic partner"
    default_review_cadence_days = 90


class RelationshipFactory(factory.django.DjangoModelFactory):
    """A relationship in "identify"; pass stage=... to place it elsewhere directly."""

    class Meta:
        model = "relationships.Relationship"
        skip_postgeneration_save = True

    stakeholder = factory.SubFactory(StakeholderFactory)
    type = factory.SubFactory(RelationshipTypeFactory)
    manager = None
    team = None
    purpose = "Grow together"

    @factory.post_generation
    def schedule(self, create, extracted, **kwargs):
        """Its first review is scheduled, as workflows.lifecycle.relationship_open does
        (``schedule=False``: a relationship created around it, as bulk loads do)."""
        if create and extracted is not False:
            from reviews.services import relationship_sync_review_schedule

            relationship_sync_review_schedule(self, created=True)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "relationships.Interaction"

    relationship = factory.SubFactory(RelationshipFactory)
    occurred_on = factory.LazyFunction(lambda: __import__("datetime").date.today())
    channel = "meeting"
    summary = "Met to discuss the next steps"
    sentiment = 1


class CommitmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "relationships.Commitment"

    relationship = factory.SubFactory(RelationshipFactory)
    direction = "ours"
    description = "Send the proposal"


class ValueRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "relationships.ValueRecord"

    relationship = factory.SubFactory(RelationshipFactory)
    recorded_on = factory.LazyFunction(lambda: __import__("datetime").date.today())
    kind = "revenue"
    amount = 1000
    unit = "GBP"

"""Read models of the dashboard and the home page: small tallies that PostgreSQL keeps
current itself (row triggers on relationships, interactions and value records, installed by
dashboard.readmodels), so a figure costs what it shows, not what the database holds.

Every tally is keyed by what decides who may see a relationship (accounts.permissions): its
team, whether it is confidential and, for confidential ones only, its manager
(``manager_key``; 0 for every other row, so open relationships don't split by manager).
Key columns hold 0 for "none" rather than NULL so they can be part of a unique key.
On SQLite, the development default, the tallies stay empty and the figures are computed
from the raw tables (dashboard.selectors decides).
"""

from __future__ import annotations

from datetime import date

from django.db import models

# last_contact_on of a relationship nobody has logged an interaction with.
NEVER = date(1, 1, 1)


class TallyKey(models.Model):
    team_key = models.BigIntegerField()
    confidential = models.BooleanField()
    manager_key = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        confidential = f", confidential (manager {self.manager_key})" if self.confidential else ""
        return f"{type(self).__name__}: team {self.team_key or 'none'}{confidential}"


class RelationshipTally(TallyKey):
    """Relationships by stage; active ones also by health bucket (score // 10, 100 in 9),
    key flag and whether anyone manages them. Ended ones have bucket -1 and both flags off."""

    stage = models.CharField(max_length=12)
    health_bucket = models.SmallIntegerField()
    is_key = models.BooleanField()
    managed = models.BooleanField()
    relationships = models.IntegerField(default=0)
    health_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "team_key",
                    "confidential",
                    "manager_key",
                    "stage",
                    "health_bucket",
                    "is_key",
                    "managed",
                ],
                name="relationship_tally_key",
            )
        ]


class ContactTally(TallyKey):
    """Active relationships by the day of their last logged interaction (NEVER if none):
    contact windows and quiet counts read only the days they ask about."""

    last_contact_on = models.DateField()
    relationships = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_key", "confidential", "manager_key", "last_contact_on"],
                name="contact_tally_key",
            )
        ]
        indexes = [models.Index(fields=["last_contact_on"], name="contact_tally_day_idx")]


class InteractionWeekTally(TallyKey):
    """Interactions logged per week (Monday, site time zone) by each person."""

    week = models.DateField()
    person_key = models.BigIntegerField()
    interactions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "team_key", "confidential", "manager_key", "person_key"],
                name="interaction_week_tally_key",
            )
        ]


class StakeholderTally(TallyKey):
    """Per stakeholder: its active relationships and their health (the map's dots and cells)."""

    # A key, not a constraint: the triggers write these rows, never the ORM.
    stakeholder = models.ForeignKey(
        "stakeholders.Stakeholder",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    relationships = models.IntegerField(default=0)
    health_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stakeholder", "team_key", "confidential", "manager_key"],
                name="stakeholder_tally_key",
            )
        ]
        # A viewer's own confidential slices (the map adds them to the "open" reach).
        indexes = [
            models.Index(
                fields=["team_key"],
                condition=models.Q(confidential=True),
                name="holder_conf_team_idx",
            ),
            models.Index(
                fields=["manager_key"],
                condition=models.Q(confidential=True),
                name="holder_conf_manager_idx",
            ),
        ]


class StakeholderValueTally(TallyKey):
    """Per stakeholder and unit: quantitative value recorded on its active relationships."""

    # A key, not a constraint: the triggers write these rows, never the ORM.
    stakeholder = models.ForeignKey(
        "stakeholders.Stakeholder",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    unit = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    records = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stakeholder", "team_key", "confidential", "manager_key", "unit"],
                name="stakeholder_value_tally_key",
            )
        ]
        indexes = [
            models.Index(fields=["unit", "stakeholder"], name="value_tally_unit_idx"),
            models.Index(
                fields=["team_key"],
                condition=models.Q(confidential=True),
                name="value_conf_team_idx",
            ),
            models.Index(
                fields=["manager_key"],
                condition=models.Q(confidential=True),
                name="value_conf_manager_idx",
            ),
        ]


# --- Reach: the map's figures for viewers who see (almost) everything -------------------
#
# A viewer who may see every relationship (an executive), or every open one plus a few
# confidential ones (everyone else), would otherwise count the map's stakeholders per cell
# over every StakeholderTally row. These tallies hold the same figures summed over all
# slices ("all") and over the open ones ("open"), so the map reads 25 cells and the top of
# one index; only a viewer's own confidential slices are added from StakeholderTally.
# PostgreSQL derives them from the tallies above with triggers of their own.


class Reach(models.TextChoices):
    ALL = "all", "every relationship"
    OPEN = "open", "relationships that are not confidential"


class StakeholderReachTally(models.Model):
    """Per stakeholder and reach: its active relationships and their health."""

    stakeholder = models.ForeignKey(
        "stakeholders.Stakeholder",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    reach = models.CharField(max_length=4, choices=Reach.choices)
    relationships = models.IntegerField(default=0)
    health_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stakeholder", "reach"], name="stakeholder_reach_key")
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder_id} ({self.reach}): {self.relationships}"


class StakeholderReachValueTally(models.Model):
    """Per stakeholder, reach and unit: quantitative value on its active relationships,
    indexed by amount so the map's most valuable stakeholders are the top of an index."""

    stakeholder = models.ForeignKey(
        "stakeholders.Stakeholder",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    reach = models.CharField(max_length=4, choices=Reach.choices)
    unit = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stakeholder", "reach", "unit"], name="stakeholder_reach_value_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["reach", "unit", "-amount", "stakeholder"], name="reach_value_rank_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder_id} ({self.reach}): {self.amount} {self.unit}"


class MapCellTally(models.Model):
    """Per reach and power × interest cell: the stakeholders with at least one active
    relationship of that reach, and those relationships' number and health."""

    reach = models.CharField(max_length=4, choices=Reach.choices)
    power = models.SmallIntegerField()
    interest = models.SmallIntegerField()
    stakeholders = models.IntegerField(default=0)
    relationships = models.IntegerField(default=0)
    health_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reach", "power", "interest"], name="map_cell_key")
        ]

    def __str__(self) -> str:
        return f"power {self.power} × interest {self.interest} ({self.reach}): {self.stakeholders}"

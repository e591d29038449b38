"""CSV import of relationships, on the shared validate-then-commit framework.

Columns: stakeholder (name, must exist), type (name, must exist), manager (username),
team (name; the importing user must be allowed to assign it), confidential (yes/no), purpose.
"""

from __future__ import annotations

from django import forms

from accounts import permissions
from accounts.models import Team, User
from relationships.models import Relationship, RelationshipType
from stakeholders.imports import CsvBooleanField, Importer, RowError, StakeholderLookup
from workflows.lifecycle import relationship_open


class RelationshipRowForm(forms.Form):
    stakeholder = forms.CharField()
    type = forms.CharField()
    manager = forms.CharField(required=False)
    team = forms.CharField(required=False)
    confidential = CsvBooleanField(required=False)
    purpose = forms.CharField(required=False)


class RelationshipImporter(Importer):
    kind = "relationships"
    label = "Relationships"
    one = "relationship"
    event_verb = "relationships.imported"
    columns = {
        "stakeholder": True,
        "type": True,
        "manager": False,
        "team": False,
        "confidential": False,
        "purpose": False,
    }
    row_form = RelationshipRowForm

    def load(self) -> None:
        self.stakeholders = StakeholderLookup()
        self.types = {t.name.casefold(): t for t in RelationshipType.objects.all()}
        self.teams = {t.name.casefold(): t for t in Team.objects.all()}
        self.users = {u.username.casefold(): u for u in User.objects.filter(is_active=True)}

    def resolve(self, cleaned: dict, row: int, errors: list[RowError]) -> dict:
        # A column the form refused (a blank stakeholder or type) is not looked up.
        if "stakeholder" in cleaned:
            cleaned["stakeholder"] = self.stakeholders.find(
                cleaned["stakeholder"], row, "stakeholder", errors
            )
        if "type" in cleaned:
            type_name = cleaned["type"]
            cleaned["type"] = self.types.get(type_name.casefold())
            if cleaned["type"] is None:
                known = ", ".join(t.name for t in self.types.values()) or "none yet"
                errors.append(
                    RowError(
                        row, "type", f"Unknown relationship type “{type_name}”. Known: {known}."
                    )
                )
        username = cleaned.get("manager", "")
        cleaned["manager"] = None
        if username:
            cleaned["manager"] = self.users.get(username.casefold())
            if cleaned["manager"] is None:
                errors.append(self.unknown(row, "manager", "user", username))
        team_name = cleaned.get("team", "")
        cleaned["team"] = None
        if team_name:
            team = self.teams.get(team_name.casefold())
            if team is None:
                errors.append(self.unknown(row, "team", "team", team_name))
            elif not permissions.may_assign_team(self.by, team.pk):
                errors.append(
                    RowError(row, "team", f"You cannot assign relationships to “{team.name}”.")
                )
            else:
                cleaned["team"] = team
        return cleaned

    def create(self, cleaned: dict) -> Relationship:
        return relationship_open(by=self.by, **cleaned)

"""Admin for reference data and repairs. Stage changes go through relationship_transition so
the lifecycle rules and the transition log hold here too; the stage field is read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.errors import RuleViolation
from relationships import services
from relationships.models import (
    Commitment,
    Interaction,
    Relationship,
    RelationshipType,
    Stage,
    StageTransition,
    ValueRecord,
)

# The next stage in the lifecycle; "review" goes on by growing (back to build).
NEXT_STAGE = {
    Stage.IDENTIFY: Stage.PRESENT,
    Stage.PRESENT: Stage.PILOT,
    Stage.PILOT: Stage.BUILD,
    Stage.BUILD: Stage.REVIEW,
    Stage.REVIEW: Stage.BUILD,
}


@admin.register(RelationshipType)
class RelationshipTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "default_review_cadence_days"]
    search_fields = ["name"]


class StageTransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = ["at", "from_stage", "to_stage", "by", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Relationship)
class RelationshipAdmin(SimpleHistoryAdmin):
    list_display = [
        "stakeholder",
        "type",
        "stage",
        "manager",
        "team",
        "confidential",
        "health_score",
        "next_review_on",
    ]
    list_filter = ["stage", "type", "team", "confidential", "is_key"]
    search_fields = ["stakeholder__name", "purpose"]
    list_select_related = ["stakeholder", "type", "manager", "team"]
    raw_id_fields = ["stakeholder"]  # the stakeholders app owns its admin
    readonly_fields = [
        "stage",
        "started_on",
        "ended_on",
        "end_reason",
        "health_score",
        "health_reasons",
        "last_interaction_on",
        "version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [StageTransitionInline]
    actions = ["move_to_next_stage"]

    def save_model(self, request, obj, form, change) -> None:
        # An admin edit is an edit like any other: bump the version so an open edit form
        # elsewhere notices it, and record who did it.
        if change:
            obj.version += 1
        else:
            obj.created_by = request.user
        obj._history_user = request.user
        super().save_model(request, obj, form, change)
        services.relationship_refresh_health(obj)

    @admin.action(description="Move to the next stage (obeying the lifecycle rules)")
    def move_to_next_stage(self, request: HttpRequest, queryset: QuerySet[Relationship]) -> None:
        moved, refused = 0, []
        for relationship in queryset.select_related("stakeholder"):
            to_stage = NEXT_STAGE.get(relationship.stage)
            if to_stage is None:
                refused.append(f"{relationship}: it has ended.")
                continue
            try:
                services.relationship_transition(
                    relationship=relationship,
                    to_stage=to_stage,
                    by=request.user,
                    note="Moved from the admin.",
                    expected_stage=relationship.stage,
                )
            except RuleViolation as error:
                refused.append(f"{relationship}: {error.message}")
            else:
                moved += 1
        if moved:
            self.message_user(request, f"Moved {moved} relationship(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    # The log is written by relationship_transition only; here it is read.
    list_display = ["relationship", "from_stage", "to_stage", "by", "at"]
    list_filter = ["to_stage"]
    list_select_related = ["relationship__stakeholder", "relationship__type", "by"]
    search_fields = ["relationship__stakeholder__name", "note"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class _RecordAdmin(SimpleHistoryAdmin):
    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        obj._history_user = request.user
        super().save_model(request, obj, form, change)
        services.relationship_refresh_health(obj.relationship)


@admin.register(Interaction)
class InteractionAdmin(_RecordAdmin):
    list_display = ["relationship", "occurred_on", "channel", "sentiment", "is_key_experience"]
    list_filter = ["channel", "is_key_experience", "outcome"]
    list_select_related = ["relationship__stakeholder", "relationship__type"]
    search_fields = ["summary", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship"]
    filter_horizontal = ["participant_users", "participant_contacts"]
    date_hierarchy = "occurred_on"
    readonly_fields = ["created_by", "created_at"]


@admin.register(Commitment)
class CommitmentAdmin(_RecordAdmin):
    list_display = ["description", "relationship", "direction", "owner", "due_on", "status"]
    list_filter = ["status", "direction"]
    list_select_related = ["relationship__stakeholder", "relationship__type", "owner"]
    search_fields = ["description", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship", "source_interaction"]
    readonly_fields = ["closed_on", "created_by", "created_at"]


@admin.register(ValueRecord)
class ValueRecordAdmin(_RecordAdmin):
    list_display = ["relationship", "recorded_on", "kind", "amount", "unit"]
    list_filter = ["kind"]
    list_select_related = ["relationship__stakeholder", "relationship__type"]
    search_fields = ["note", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship"]
    readonly_fields = ["created_by", "created_at"]

"""Admin for reference data and repairs. Relationship edits go through relationship_create /
relationship_update (guards, the row lock, the version check, the event) and stage changes
through relationship_transition, so the lifecycle rules hold here too. Interactions,
commitments, value records and the transition log are written on the relationship's own
pages and only shown here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_writes import (
    REFUSALS,
    ReadOnlyAdmin,
    ReadOnlyHistoryAdmin,
    ServiceHistoryAdmin,
    VersionedForm,
)
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
from workflows import lifecycle

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


class RelationshipForm(VersionedForm):
    class Meta:
        model = Relationship
        fields = "__all__"


@admin.register(Relationship)
class RelationshipAdmin(ServiceHistoryAdmin):
    form = RelationshipForm
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
        "next_review_on",
        "health_score",
        "health_reasons",
        "health_lifts",
        "last_interaction_on",
        "manager_rating",
        "manager_rating_note",
        "manager_rating_on",
        "version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [StageTransitionInline]
    actions = ["move_to_next_stage"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return ["stakeholder", *services.CREATE_FIELDS]
        # The stakeholder is fixed once the relationship exists; stage moves are the action.
        return [
            "stakeholder",
            *services.EDITABLE_FIELDS,
            "expected_version",
            *self.readonly_fields,
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [*self.readonly_fields, "stakeholder"] if obj else []

    def service_save(self, request, obj: Relationship, form, change: bool) -> Relationship:
        data = form.cleaned_data
        if not change:
            return lifecycle.relationship_open(
                stakeholder=data["stakeholder"],
                by=request.user,
                **{name: data[name] for name in services.CREATE_FIELDS},
            )
        return lifecycle.relationship_edit(
            relationship=obj,
            by=request.user,
            expected_version=data["expected_version"],
            **{name: data[name] for name in services.EDITABLE_FIELDS if name in data},
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a relationship ends (a stage move with a reason); it is not deleted

    @admin.action(description="Move to the next stage (obeying the lifecycle rules)")
    def move_to_next_stage(self, request: HttpRequest, queryset: QuerySet[Relationship]) -> None:
        moved, refused = 0, []
        for relationship in queryset.select_related("stakeholder"):
            to_stage = NEXT_STAGE.get(relationship.stage)
            if to_stage is None:
                refused.append(f"{relationship}: it has ended.")
                continue
            try:
                lifecycle.relationship_move(
                    relationship=relationship,
                    to_stage=to_stage,
                    by=request.user,
                    note="Moved from the admin.",
                    expected_stage=relationship.stage,
                )
            except REFUSALS as error:
                refused.append(f"{relationship}: {error.message}")
            else:
                moved += 1
        if moved:
            self.message_user(request, f"Moved {moved} relationship(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    # The log is written by relationship_transition only; here it is read.
    list_display = ["relationship", "from_stage", "to_stage", "by", "at"]
    list_filter = ["to_stage"]
    list_select_related = ["relationship__stakeholder", "relationship__type", "by"]
    search_fields = ["relationship__stakeholder__name", "note"]


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyHistoryAdmin):
    list_display = ["relationship", "occurred_on", "channel", "sentiment", "is_key_experience"]
    list_filter = ["channel", "is_key_experience", "outcome"]
    list_select_related = ["relationship__stakeholder", "relationship__type"]
    search_fields = ["summary", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship"]
    filter_horizontal = ["participant_users", "participant_contacts"]
    date_hierarchy = "occurred_on"
    readonly_fields = ["created_by", "created_at"]


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyHistoryAdmin):
    list_display = ["description", "relationship", "direction", "owner", "due_on", "status"]
    list_filter = ["status", "direction"]
    list_select_related = ["relationship__stakeholder", "relationship__type", "owner"]
    search_fields = ["description", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship", "source_interaction"]
    readonly_fields = ["closed_on", "created_by", "created_at"]


@admin.register(ValueRecord)
class ValueRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ["relationship", "recorded_on", "kind", "amount", "unit"]
    list_filter = ["kind"]
    list_select_related = ["relationship__stakeholder", "relationship__type"]
    search_fields = ["note", "relationship__stakeholder__name"]
    autocomplete_fields = ["relationship"]
    readonly_fields = ["created_by", "created_at"]

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from plans.models import Initiative, KpiMeasurement, Objective, ObjectiveLevel, Plan


@admin.register(ObjectiveLevel)
class ObjectiveLevelAdmin(SimpleHistoryAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    ordering = ["position"]


class KpiMeasurementInline(admin.TabularInline):
    model = KpiMeasurement
    extra = 0
    raw_id_fields = ["by"]


@admin.register(Objective)
class ObjectiveAdmin(SimpleHistoryAdmin):
    # Moves and deletes belong to plans.services (cycle check, what happens to children):
    # the parent is read-only here and deletion is done from the objective's page.
    list_display = ["title", "level", "status", "owner", "parent", "target_date"]
    list_filter = ["status", "level"]
    search_fields = ["title", "description"]
    raw_id_fields = ["owner", "created_by"]
    readonly_fields = ["parent", "kpi_current", "created_by", "created_at", "updated_at"]
    inlines = [KpiMeasurementInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(KpiMeasurement)
class KpiMeasurementAdmin(SimpleHistoryAdmin):
    list_display = ["objective", "measured_on", "value", "by"]
    raw_id_fields = ["objective", "by"]


class InitiativeInline(admin.TabularInline):
    model = Initiative
    extra = 0
    fields = ["title", "objective", "owner", "status", "planned_hours", "planned_budget"]
    raw_id_fields = ["objective", "owner"]
    show_change_link = True


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = ["title", "period", "owner", "start_on", "end_on", "currency"]
    search_fields = ["title", "period"]
    raw_id_fields = ["owner", "created_by"]
    filter_horizontal = ["objectives"]
    inlines = [InitiativeInline]


@admin.register(Initiative)
class InitiativeAdmin(SimpleHistoryAdmin):
    list_display = ["title", "plan", "objective", "owner", "status", "start_on", "end_on"]
    list_filter = ["status", "plan"]
    search_fields = ["title"]
    raw_id_fields = ["plan", "objective", "owner", "created_by", "relationships"]
    filter_horizontal = ["people"]

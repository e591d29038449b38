"""Admin for the cascade and the plans: objectives, plans and initiatives are saved through
plans.services (the cycle check, date and resource rules, the event); KPI measurements are
recorded on the objective's page and only shown here. Objective levels are reference data
without rules of their own."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.admin_writes import ReadOnlyHistoryAdmin, ReadOnlyInline, ServiceHistoryAdmin
from plans import services
from plans.models import Initiative, KpiMeasurement, Objective, ObjectiveLevel, Plan


def _fields(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


@admin.register(ObjectiveLevel)
class ObjectiveLevelAdmin(SimpleHistoryAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    ordering = ["position"]


class KpiMeasurementInline(ReadOnlyInline, admin.TabularInline):
    model = KpiMeasurement
    fields = ["measured_on", "value", "note", "by"]
    show_change_link = False


@admin.register(Objective)
class ObjectiveAdmin(ServiceHistoryAdmin):
    # Moves go through objective_update (which refuses cycles); deletion is done from the
    # objective's page, which asks what happens to the sub-objectives.
    list_display = ["title", "level", "status", "owner", "parent", "target_date"]
    list_filter = ["status", "level"]
    search_fields = ["title", "description"]
    raw_id_fields = ["parent", "owner"]
    readonly_fields = ["kpi_current", "created_by", "created_at", "updated_at"]
    inlines = [KpiMeasurementInline]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = ["parent", *services.OBJECTIVE_FIELDS]
        return fields + (self.readonly_fields if obj else [])

    def service_save(self, request, obj: Objective, form, change: bool) -> Objective:
        fields = _fields(form, services.OBJECTIVE_FIELDS)
        parent = form.cleaned_data["parent"]
        if not change:
            return services.objective_create(by=request.user, parent=parent, **fields)
        return services.objective_update(objective=obj, by=request.user, parent=parent, **fields)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(KpiMeasurement)
class KpiMeasurementAdmin(ReadOnlyHistoryAdmin):
    list_display = ["objective", "measured_on", "value", "by"]


class InitiativeInline(ReadOnlyInline, admin.TabularInline):
    model = Initiative
    fields = ["title", "objective", "owner", "status", "planned_hours", "planned_budget"]


@admin.register(Plan)
class PlanAdmin(ServiceHistoryAdmin):
    list_display = ["title", "period", "owner", "start_on", "end_on", "currency"]
    search_fields = ["title", "period"]
    raw_id_fields = ["owner"]
    filter_horizontal = ["objectives"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [InitiativeInline]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [*services.PLAN_FIELDS, "objectives"]
        return fields + (self.readonly_fields if obj else [])

    def service_save(self, request, obj: Plan, form, change: bool) -> Plan:
        fields = _fields(form, services.PLAN_FIELDS)
        objectives = form.cleaned_data["objectives"]
        if not change:
            return services.plan_create(by=request.user, objectives=objectives, **fields)
        return services.plan_update(plan=obj, by=request.user, objectives=objectives, **fields)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # no service deletes a plan with its initiatives


@admin.register(Initiative)
class InitiativeAdmin(ServiceHistoryAdmin):
    list_display = ["title", "plan", "objective", "owner", "status", "start_on", "end_on"]
    list_filter = ["status", "plan"]
    search_fields = ["title"]
    raw_id_fields = ["plan", "objective", "owner", "relationships"]
    filter_horizontal = ["people"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = ["plan", *services.INITIATIVE_FIELDS, "people", "relationships"]
        return fields + (self.readonly_fields if obj else [])

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # An initiative stays in its plan (initiative_update does not move it).
        return [*self.readonly_fields, "plan"] if obj else []

    def service_save(self, request, obj: Initiative, form, change: bool) -> Initiative:
        data = form.cleaned_data
        fields = _fields(form, services.INITIATIVE_FIELDS)
        if not change:
            return services.initiative_create(
                plan=data["plan"],
                by=request.user,
                people=data["people"],
                relationships=data["relationships"],
                **fields,
            )
        return services.initiative_update(
            initiative=obj,
            by=request.user,
            people=data["people"],
            relationships=data["relationships"],
            **fields,
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # no service deletes an initiative

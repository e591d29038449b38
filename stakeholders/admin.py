from __future__ import annotations

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.errors import RuleViolation
from stakeholders import services
from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value

# Only http(s) addresses, and no Django 6.0 scheme-default warning.
URL_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    search_fields = ["name"]


@admin.register(Value)
class ValueAdmin(admin.ModelAdmin):
    list_display = ["name", "weight", "active"]
    list_filter = ["active"]
    search_fields = ["name", "description"]

    # Every stakeholder's value fit depends on the weights: save through the service so the
    # stored fits follow (the list, the export and the API sort by them).
    def save_model(self, request: HttpRequest, obj: Value, form, change: bool) -> None:
        services.value_save(value=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Value) -> None:
        services.value_delete(value=obj, by=request.user)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for value in queryset:
            services.value_delete(value=value, by=request.user)


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["name", "role", "email", "phone"]
    extra = 0
    show_change_link = True


@admin.register(Stakeholder)
class StakeholderAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "category", "country", "value_fit", "power", "interest"]
    list_filter = ["kind", "category", "country"]
    search_fields = ["name", "normalised_name", "sector", "country", "email"]
    list_select_related = ["category"]
    filter_horizontal = ["values"]
    readonly_fields = ["value_fit", "power", "interest", "version", "created_by", "created_at"]
    formfield_overrides = URL_OVERRIDES
    inlines = [ContactInline]
    actions = ["merge_into_first"]

    def save_model(self, request: HttpRequest, obj: Stakeholder, form, change: bool) -> None:
        if change:
            obj.version += 1  # an admin edit invalidates forms others have open
        else:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.stakeholders_refresh_value_fit([form.instance.pk])

    @admin.action(description="Merge the two selected (the one listed first survives)")
    def merge_into_first(self, request: HttpRequest, queryset: QuerySet) -> None:
        selected = list(queryset[:3])
        if len(selected) != 2:
            self.message_user(
                request, "Select exactly two stakeholders to merge.", level=messages.ERROR
            )
            return
        survivor, duplicate = selected
        try:
            services.stakeholder_merge(survivor=survivor, duplicate=duplicate, by=request.user)
        except RuleViolation as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"Merged “{duplicate}” into “{survivor}”.", messages.SUCCESS)


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "stakeholder", "role", "email", "phone"]
    search_fields = ["name", "email", "role", "stakeholder__name"]
    list_select_related = ["stakeholder"]
    autocomplete_fields = ["stakeholder"]
    readonly_fields = ["version", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Contact, form, change: bool) -> None:
        if change:
            obj.version += 1
        else:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Assessment)
class AssessmentAdmin(SimpleHistoryAdmin):
    list_display = ["stakeholder", "assessed_on", "power", "interest", "assessed_by"]
    list_filter = ["assessed_on"]
    search_fields = ["stakeholder__name", "note"]
    list_select_related = ["stakeholder", "assessed_by"]
    autocomplete_fields = ["stakeholder"]

    # The stakeholder shows its latest assessment: keep it current after admin edits.
    def save_model(self, request: HttpRequest, obj: Assessment, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.stakeholders_sync_current_assessment([obj.stakeholder_id])

    def delete_model(self, request: HttpRequest, obj: Assessment) -> None:
        stakeholder_id = obj.stakeholder_id
        super().delete_model(request, obj)
        services.stakeholders_sync_current_assessment([stakeholder_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = set(queryset.values_list("stakeholder_id", flat=True))
        super().delete_queryset(request, queryset)
        services.stakeholders_sync_current_assessment(ids)

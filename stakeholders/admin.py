"""Admin for the registry: every save and delete goes through stakeholders.services (guards,
row locks, the version check, events); assessments are recorded on the stakeholder's page
and only shown here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_writes import (
    REFUSALS,
    ReadOnlyHistoryAdmin,
    ReadOnlyInline,
    ServiceAdmin,
    ServiceHistoryAdmin,
    VersionedForm,
)
from stakeholders import services
from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value

# Only http(s) addresses, and no Django 6.0 scheme-default warning.
URL_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


def _fields(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


@admin.register(Category)
class CategoryAdmin(ServiceAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    search_fields = ["name"]

    def service_save(self, request: HttpRequest, obj: Category, form, change: bool) -> Category:
        return services.category_save(category=obj, by=request.user)

    def service_delete(self, request: HttpRequest, obj: Category) -> None:
        services.category_delete(category=obj, by=request.user)


@admin.register(Value)
class ValueAdmin(ServiceAdmin):
    list_display = ["name", "weight", "active"]
    list_filter = ["active"]
    search_fields = ["name", "description"]

    # Every stakeholder's value fit depends on the weights: the service keeps the stored
    # fits current (the list, the export and the API sort by them).
    def service_save(self, request: HttpRequest, obj: Value, form, change: bool) -> Value:
        return services.value_save(value=obj, by=request.user)

    def service_delete(self, request: HttpRequest, obj: Value) -> None:
        services.value_delete(value=obj, by=request.user)


class ContactInline(ReadOnlyInline, admin.TabularInline):
    model = Contact
    fields = ["name", "role", "email", "phone"]


class StakeholderForm(VersionedForm):
    allow_duplicate = forms.BooleanField(
        required=False,
        label="This is a different stakeholder",
        help_text="Tick to add it even though one with the same name or e-mail domain exists.",
    )

    class Meta:
        model = Stakeholder
        fields = ["name"]  # the admin passes its own list (get_fields) and URL widget


@admin.register(Stakeholder)
class StakeholderAdmin(ServiceHistoryAdmin):
    form = StakeholderForm
    list_display = ["name", "kind", "category", "country", "value_fit", "power", "interest"]
    list_filter = ["kind", "category", "country"]
    search_fields = ["name", "normalised_name", "sector", "country", "email"]
    list_select_related = ["category"]
    filter_horizontal = ["values"]
    readonly_fields = ["value_fit", "power", "interest", "version", "created_by", "created_at"]
    formfield_overrides = URL_OVERRIDES
    inlines = [ContactInline]
    actions = ["merge_into_first"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [*services.STAKEHOLDER_FIELDS, "values", "expected_version"]
        if obj is None:
            fields.append("allow_duplicate")
        return fields + (self.readonly_fields if obj else [])

    def service_save(self, request, obj: Stakeholder, form, change: bool) -> Stakeholder:
        fields = _fields(form, services.STAKEHOLDER_FIELDS)
        values = form.cleaned_data["values"]
        if not change:
            return services.stakeholder_create(
                by=request.user,
                values=values,
                allow_duplicate=form.cleaned_data["allow_duplicate"],
                **fields,
            )
        return services.stakeholder_update(
            stakeholder=obj,
            by=request.user,
            expected_version=form.cleaned_data["expected_version"],
            values=values,
            **fields,
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a duplicate is merged into the stakeholder it repeats (action below)

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
        except REFUSALS as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"Merged “{duplicate}” into “{survivor}”.", messages.SUCCESS)


class ContactForm(VersionedForm):
    class Meta:
        model = Contact
        fields = "__all__"


@admin.register(Contact)
class ContactAdmin(ServiceHistoryAdmin):
    form = ContactForm
    list_display = ["name", "stakeholder", "role", "email", "phone"]
    search_fields = ["name", "email", "role", "stakeholder__name"]
    list_select_related = ["stakeholder"]
    autocomplete_fields = ["stakeholder"]
    readonly_fields = ["version", "created_by", "created_at"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [*services.CONTACT_FIELDS, "expected_version"]
        return fields + (self.readonly_fields if obj else [])

    def service_save(self, request, obj: Contact, form, change: bool) -> Contact:
        fields = _fields(form, services.CONTACT_FIELDS)
        if not change:
            return services.contact_create(by=request.user, **fields)
        return services.contact_update(
            contact=obj,
            by=request.user,
            expected_version=form.cleaned_data["expected_version"],
            **fields,
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # no service deletes contacts (interactions and feedback name them)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyHistoryAdmin):
    list_display = ["stakeholder", "assessed_on", "power", "interest", "assessed_by"]
    list_filter = ["assessed_on"]
    search_fields = ["stakeholder__name", "note"]
    list_select_related = ["stakeholder", "assessed_by"]

"""The Django admin writes through the services, like every other door.

``ServiceAdmin`` is a ModelAdmin whose save and delete call the app's service with
``by=request.user``, so the guards, row locks, version checks and events apply in the admin
too (its events say ``via="admin"``: the request middleware sets that for /admin/).

When the service refuses (a RuleViolation, PermissionRefused, ConcurrencyConflict or model
ValidationError), the refusal is raised out of the admin's own ``transaction.atomic`` block,
so nothing of that attempt is kept (no row, no inline, no log entry); the form is then shown
again, bound to what was posted, with the service's message on the field at fault.
``ReadOnlyAdmin`` is for records whose writes belong to the app's own pages or tasks.
Both search (their list's box, and the autocomplete of fields that point to them) as the
app's own lists do: ``FoldedSearchAdmin``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import lookup_spawns_duplicates
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from simple_history.admin import SimpleHistoryAdmin

from core.errors import ConcurrencyConflict, RuleViolation

REFUSALS = (RuleViolation, ConcurrencyConflict)
# The admin also turns a service's model validation into form errors (the form checked the
# same fields, but a service may validate what the form could not see).
_ADMIN_REFUSALS = (*REFUSALS, ValidationError)


class Refused(Exception):
    """A service refused an admin write; carries the service's error out of the atomic block."""

    def __init__(self, error: RuleViolation | ConcurrencyConflict | ValidationError):
        self.error = error
        # field (None: the record as a whole) → what the admin is told
        self.errors: dict[str | None, list[str]]
        if isinstance(error, ValidationError):
            by_field = getattr(error, "message_dict", None) or {None: error.messages}
            self.errors = {field: list(texts) for field, texts in by_field.items()}
        else:
            message = error.message
            if isinstance(error, ConcurrencyConflict):
                message += " Open the record again to see the current version."
            self.errors = {getattr(error, "field", None): [message]}
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return " ".join(text for texts in self.errors.values() for text in texts)


class VersionedForm(forms.ModelForm):
    """An edit form that carries the version the admin saw, for the service's optimistic
    concurrency check: a save over someone else's newer edit is refused, not applied."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["expected_version"].required = True


class FoldedSearchAdmin(admin.ModelAdmin):
    """The admin's search box and autocomplete match as the app's lists and API do
    (stakeholders.search.fields_q): a stakeholder's or contact's name without accents, case
    or punctuation ("zoe" finds "Zoë"), other fields in any case, on PostgreSQL and SQLite
    alike. Django's own search (ILIKE, ASCII-only case on SQLite) is left for fields with a
    lookup prefix ("^name") and for a term the lists would refuse (no letter or digit)."""

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        from stakeholders.search import Search, fields_q

        fields = [str(name) for name in self.get_search_fields(request)]
        if not fields or not search_term or any(name[0] in "^=@$" for name in fields):
            return super().get_search_results(request, queryset, search_term)
        try:
            search = Search.parse(search_term)
        except ValidationError:
            return super().get_search_results(request, queryset, search_term)
        if search is None:
            return queryset, False
        duplicates = any(lookup_spawns_duplicates(self.opts, name) for name in fields)
        return queryset.filter(fields_q(self.model, fields, search)), duplicates


class ServiceAdmin(FoldedSearchAdmin):
    """Subclasses implement ``service_save`` (and ``service_delete`` if deleting is
    allowed); the model form only validates and carries the input."""

    def service_save(self, request: HttpRequest, obj: Model, form, change: bool) -> Model:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: Model) -> None:
        raise NotImplementedError

    # --- Writes ---------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        try:
            saved = self.service_save(request, obj, form, change)
        except _ADMIN_REFUSALS as error:
            raise Refused(error) from error
        # The service saved its own (locked) copy: the admin's responses need its pk.
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The service saved the many-to-many fields it owns, and inlines here are read-only:
        # nothing more is written, whatever was posted. (The change message reads these.)
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        try:
            self.service_delete(request, obj)
        except _ADMIN_REFUSALS as error:
            raise Refused(error) from error

    def get_actions(self, request: HttpRequest) -> dict:
        # "Delete selected" would report success for rows a service refused: delete one at a
        # time from the record's page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- Refusals -------------------------------------------------------------------------

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            # The attempt rolled back with the admin's transaction; render the posted form
            # again, made invalid by the refusal (get_form), so nothing is saved this time.
            request._admin_refusal = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_admin_refusal", None)
        if refusal is None:
            return form
        return _refused_form(form, refusal)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except Refused as refused:
            self.message_user(request, refused.text, messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("delete/", 1)[0])

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # list_editable rows are saved through save_model too.
        try:
            return super().changelist_view(request, extra_context)
        except Refused as refused:
            self.message_user(request, refused.text, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _refused_form(form: type[forms.ModelForm], refused: Refused) -> type[forms.ModelForm]:
    class RefusedForm(form):
        def clean(self):
            cleaned = super().clean()
            for field, texts in refused.errors.items():
                # A field the form does not show (or "__all__"): said above the form.
                self.add_error(field if field in self.fields else None, texts)
            return cleaned

    RefusedForm.__name__ = form.__name__
    return RefusedForm


class ReadOnlyAdmin(FoldedSearchAdmin):
    """Shown, never written here: the app's own pages (and their services) write these."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline:
    """Mixin for an inline that lists related records; each is edited on its own page."""

    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class _NoRevert:
    """simple_history's "revert" page saves an old version through the model form, around
    the services (and, for a read-only model, around the read-only rule): history is shown
    here, never reverted."""

    def revert_disabled(self, request: HttpRequest, obj=None) -> bool:
        return True

    def history_form_view(self, request: HttpRequest, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("An old version is shown here, not restored.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ServiceHistoryAdmin(_NoRevert, ServiceAdmin, SimpleHistoryAdmin):
    pass


class ReadOnlyHistoryAdmin(_NoRevert, ReadOnlyAdmin, SimpleHistoryAdmin):
    pass

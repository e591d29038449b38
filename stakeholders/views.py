"""Stakeholder and contact pages. Thin: parse input, call a service or selector, render.

HTMX requests for lists get only the ``results`` partial; every URL also works as a plain
GET (bookmarks, no JavaScript), so those responses send ``Vary: HX-Request``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from core.csvio import csv_response
from core.dbrouting import report_read
from core.errors import ConcurrencyConflict, RuleViolation
from core.reference import offer_rows, reference_rows
from events import selectors as events_selectors
from relationships.selectors import relationships_visible_to
from security.services import export_detail, security_event_record
from stakeholders import selectors, services
from stakeholders.filters import ContactFilter, StakeholderFilter
from stakeholders.forms import (
    AssessmentForm,
    ContactForm,
    ImportForm,
    MergeForm,
    StakeholderForm,
)
from stakeholders.imports import importers, run_import
from stakeholders.models import Stakeholder

PAGE_SIZE = 25


def _require_editor(user) -> None:
    if not permissions.may_change_stakeholders(user):
        raise PermissionDenied("Only relationship managers and admins change the registry.")


def _render_list(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    # The filter form offers the categories from the reference cache: from its queryset,
    # each page would count them and then read them.
    category = context["filter"].form.fields["category"]
    offer_rows(category, category.queryset, reference_rows(category.queryset))
    name = f"{template}#results" if request.htmx and not request.htmx.boosted else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _add_rule_error(form, error: RuleViolation) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _add_validation_error(form, error: ValidationError) -> None:
    """A model-level check the form could not see; never let it become a 500."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        if name in form.fields:
            form.add_error(name, errors)
        else:
            for message in (m for e in errors for m in e.messages):
                form.add_error(None, f"{name.replace('_', ' ').capitalize()}: {message}")


def _url_or(name: str, fallback: str, *args) -> str:
    """Links into pages another app is still building: fall back to their planned path."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


# --- Stakeholders ---------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    """The stakeholder list: search, filters, sorting, 25 a page."""
    filterset = StakeholderFilter(request.GET, queryset=selectors.stakeholders_for(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "may_change": permissions.may_change_stakeholders(request.user),
        "may_import": permissions.may_import(request.user),
    }
    return _render_list(request, "stakeholders/list.html", context)


@report_read
def export(request: HttpRequest) -> HttpResponse:
    filterset = StakeholderFilter(request.GET, queryset=selectors.stakeholders_for(request.user))
    header = [
        "id",
        "name",
        "kind",
        "category",
        "sector",
        "country",
        "website",
        "email",
        "value_fit",
        "power",
        "interest",
        "relationships",
        "created_at",
    ]
    rows = (
        [
            s.pk,
            s.name,
            s.get_kind_display(),
            s.category.name if s.category else "",
            s.sector,
            s.country,
            s.website,
            s.email,
            s.value_fit,
            s.power if s.power is not None else "",
            s.interest if s.interest is not None else "",
            s.relationship_count,
            s.created_at.date().isoformat(),
        ]
        for s in filterset.qs.iterator(chunk_size=2000)
    )
    filename = f"stakeholders-{timezone.localdate().isoformat()}.csv"
    security_event_record(
        kind="export", request=request, detail=export_detail(filename, request=request)
    )
    return csv_response(filename, header, rows)


@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    _require_editor(request.user)
    duplicates = []
    form = StakeholderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            stakeholder = services.stakeholder_create(
                by=request.user,
                values=form.cleaned_data["values"],
                allow_duplicate=form.cleaned_data.get("allow_duplicate", False),
                **form.service_fields(),
            )
        except RuleViolation as error:
            if error.code == "possible_duplicate":
                duplicates = error.duplicates
                # Offer "create it anyway" now that the user has seen the matches.
                form = StakeholderForm(request.POST, show_allow_duplicate=True)
                form.is_valid()
            else:
                _add_rule_error(form, error)
        except ValidationError as error:
            _add_validation_error(form, error)
        else:
            messages.success(request, f"“{stakeholder}” has been added.")
            return redirect(stakeholder)
    return render(
        request,
        "stakeholders/form.html",
        {"form": form, "duplicates": duplicates, "stakeholder": None},
    )


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    stakeholder = selectors.get_stakeholder_for(request.user, pk)
    return render(request, "stakeholders/detail.html", _detail_context(request, stakeholder))


def _detail_context(request: HttpRequest, stakeholder: Stakeholder, **extra) -> dict:
    relationships = list(relationships_visible_to(request.user).filter(stakeholder=stakeholder))
    for relationship in relationships:
        relationship.url = _url_or(
            "relationships:detail", f"/relationships/{relationship.pk}/", relationship.pk
        )
    website = stakeholder.website
    context = {
        "stakeholder": stakeholder,
        # Only http(s) links become clickable, whatever found its way into the database.
        "website_url": website if website.lower().startswith(("http://", "https://")) else "",
        "values": list(stakeholder.values.all()),
        "fit_band": selectors.fit_band(stakeholder.value_fit),
        "contacts": list(stakeholder.contacts.all()),
        "relationships": relationships,
        "new_relationship_url": _url_or("relationships:create", "/relationships/new/")
        + f"?stakeholder={stakeholder.pk}",
        "trail": selectors.assessment_trail(stakeholder),
        "history": selectors.stakeholder_history(stakeholder),
        # The newest of what happened with them (the registry and relationships the user
        # may see); the rest at /activity/stakeholders/<pk>/.
        "activity": events_selectors.feed_page(
            events_selectors.stakeholder_feed(request.user, stakeholder), size=10
        ),
        "may_change": permissions.may_change_stakeholders(request.user),
        "may_merge": permissions.may_merge_stakeholders(request.user),
        "assessment_form": AssessmentForm(),
    }
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request.user)
    stakeholder = selectors.get_stakeholder_for(request.user, pk)
    form = StakeholderForm(request.POST or None, instance=stakeholder)
    conflict = None
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or 0
        try:
            services.stakeholder_update(
                stakeholder=stakeholder,
                by=request.user,
                expected_version=expected,
                values=form.cleaned_data["values"],
                **form.service_fields(),
            )
        except ConcurrencyConflict as error:
            current = error.current
            conflict = ConcurrencyConflict(
                current, error.changed_by, selectors.changes_since(current, expected)
            )
            # Keep what this user typed; the hidden version now acknowledges the other
            # person's change, so saving again is a deliberate choice made after reading it.
            data = request.POST.copy()
            data["version"] = str(current.version)
            form = StakeholderForm(data, instance=selectors.get_stakeholder_for(request.user, pk))
            form.is_valid()
        except RuleViolation as error:
            _add_rule_error(form, error)
        except ValidationError as error:
            _add_validation_error(form, error)
        else:
            messages.success(request, "Your changes have been saved.")
            return redirect("stakeholders:detail", pk=pk)
    return render(
        request,
        "stakeholders/form.html",
        {"form": form, "stakeholder": stakeholder, "conflict": conflict, "duplicates": []},
    )


@require_POST
def assess(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a power/interest assessment: the small form on the detail page. HTMX swaps the
    assessment panel; a plain POST redirects back to the page."""
    _require_editor(request.user)
    stakeholder = selectors.get_stakeholder_for(request.user, pk)
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            services.assessment_record(
                stakeholder=stakeholder, by=request.user, **form.cleaned_data
            )
        except RuleViolation as error:
            _add_rule_error(form, error)
        except ValidationError as error:
            _add_validation_error(form, error)
        else:
            if not request.htmx:
                messages.success(request, "The assessment has been recorded.")
                return redirect(stakeholder)
            stakeholder = selectors.get_stakeholder_for(request.user, pk)
            form = AssessmentForm()
    context = _detail_context(request, stakeholder, assessment_form=form)
    template = "stakeholders/detail.html"
    if request.htmx:
        template += "#assessment"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Admins: pick the duplicate, confirm, and move everything onto this stakeholder."""
    if not permissions.may_merge_stakeholders(request.user):
        raise PermissionDenied("Only admins merge stakeholders.")
    survivor = selectors.get_stakeholder_for(request.user, pk)
    form = MergeForm(request.POST or None, survivor=survivor)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        duplicate = form.cleaned_data["duplicate"]
        if form.cleaned_data["confirm"]:
            try:
                services.stakeholder_merge(survivor=survivor, duplicate=duplicate, by=request.user)
            except RuleViolation as error:
                _add_rule_error(form, error)
            else:
                messages.success(request, f"“{duplicate.name}” has been merged into this one.")
                return redirect(survivor)
        duplicate = selectors.get_stakeholder_for(request.user, duplicate.pk)
    return render(
        request,
        "stakeholders/merge.html",
        {
            "survivor": survivor,
            "duplicate": duplicate,
            "form": form,
            "moving": _moving(duplicate) if duplicate else None,
        },
    )


def _moving(duplicate: Stakeholder) -> dict:
    from relationships.models import Relationship

    # Counted for everyone (admins only reach this page): the merge moves all of them.
    return {
        "relationships": Relationship.objects.filter(stakeholder=duplicate).count(),
        "contacts": duplicate.contacts.count(),
        "assessments": duplicate.assessments.count(),
    }


@require_http_methods(["GET", "POST"])
def import_csv(request: HttpRequest) -> HttpResponse:
    if not permissions.may_import(request.user):
        raise PermissionDenied("Only relationship managers and admins import.")
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        importer = importers()[form.cleaned_data["kind"]](request.user)
        report = run_import(
            importer, form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"]
        )
        if report.ok and not report.dry_run:
            noun = importer.one if report.created == 1 else importer.label.lower()
            message = f"Imported {report.created} {noun} from the file."
            if not report.file_format.usual:  # say how an unusual file was read
                message += " " + report.file_format.describe()
            messages.success(request, message)
            if importer.kind == "relationships":
                return redirect(_url_or("relationships:index", "/relationships/"))
            if importer.kind == "contacts":
                return redirect("stakeholders:contacts")
            return redirect("stakeholders:index")
    columns = {kind: list(cls.columns.items()) for kind, cls in importers().items()}
    # A refused file (the report lists why, by row and column) is a 400, as a refused form.
    return render(
        request,
        "stakeholders/import.html",
        {"form": form, "report": report, "columns": columns},
        status=400 if report is not None and not report.ok else 200,
    )


# --- Contacts -------------------------------------------------------------------------


def contacts(request: HttpRequest) -> HttpResponse:
    filterset = ContactFilter(request.GET, queryset=selectors.contacts_for(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "may_change": permissions.may_change_stakeholders(request.user),
    }
    return _render_list(request, "stakeholders/contact_list.html", context)


@report_read
def contact_export(request: HttpRequest) -> HttpResponse:
    filterset = ContactFilter(request.GET, queryset=selectors.contacts_for(request.user))
    header = ["id", "name", "organisation", "role", "email", "phone", "created_at"]
    rows = (
        [
            c.pk,
            c.name,
            c.stakeholder.name if c.stakeholder else "",
            c.role,
            c.email,
            c.phone,
            c.created_at.date().isoformat(),
        ]
        for c in filterset.qs.iterator(chunk_size=2000)
    )
    filename = f"contacts-{timezone.localdate().isoformat()}.csv"
    security_event_record(
        kind="export", request=request, detail=export_detail(filename, request=request)
    )
    return csv_response(filename, header, rows)


@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request.user)
    initial = {}
    if request.GET.get("stakeholder", "").isdigit():
        initial["stakeholder"] = request.GET["stakeholder"]
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(by=request.user, **form.service_fields())
        except RuleViolation as error:
            _add_rule_error(form, error)
        except ValidationError as error:
            _add_validation_error(form, error)
        else:
            messages.success(request, f"“{contact}” has been added.")
            return redirect(contact)
    return render(request, "stakeholders/contact_form.html", {"form": form, "contact": None})


def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.get_contact_for(request.user, pk)
    return render(
        request,
        "stakeholders/contact_detail.html",
        {
            "contact": contact,
            "history": selectors.contact_history(contact),
            "may_change": permissions.may_change_stakeholders(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request.user)
    contact = selectors.get_contact_for(request.user, pk)
    form = ContactForm(request.POST or None, instance=contact)
    conflict = None
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or 0
        try:
            services.contact_update(
                contact=contact,
                by=request.user,
                expected_version=expected,
                **form.service_fields(),
            )
        except ConcurrencyConflict as error:
            current = error.current
            conflict = ConcurrencyConflict(
                current, error.changed_by, selectors.changes_since(current, expected)
            )
            data = request.POST.copy()
            data["version"] = str(current.version)
            form = ContactForm(data, instance=selectors.get_contact_for(request.user, pk))
            form.is_valid()
        except RuleViolation as error:
            _add_rule_error(form, error)
        except ValidationError as error:
            _add_validation_error(form, error)
        else:
            messages.success(request, "Your changes have been saved.")
            return redirect("stakeholders:contact_detail", pk=pk)
    return render(
        request,
        "stakeholders/contact_form.html",
        {"form": form, "contact": contact, "conflict": conflict},
    )

"""Relationship pages. Thin function views: parse input, call one service or selector, render.

HTMX requests get a template partial ("page.html#name"); the same URLs work as plain GET/POST
so every page can be bookmarked and every form works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget
from django_htmx.middleware import HtmxDetails

from accounts import permissions
from core.csvio import csv_response
from core.dbrouting import report_read
from core.errors import ConcurrencyConflict, RuleViolation
from plans.selectors import objectives_for_relationship
from relationships import selectors, services
from relationships.filters import SORTS, RelationshipFilter
from relationships.forms import (
    CommitmentForm,
    CommitmentStatusForm,
    InteractionForm,
    RatingForm,
    RelationshipCreateForm,
    RelationshipEditForm,
    TransitionForm,
    ValueRecordForm,
    add_rule_error,
)
from relationships.health import __doc__ as HEALTH_RULE_DOC
from relationships.models import LIFECYCLE, Relationship, Stage
from security.services import export_detail, security_event_record
from stakeholders.models import Stakeholder
from workflows import lifecycle

PAGE_SIZE = 25
# Enough cards to work a column; the rest are one click away in the filtered list.
BOARD_COLUMN_LIMIT = 25

# What each move means to the person clicking (the review's three questions, ending).
MOVE_LABELS = {
    (Stage.REVIEW, Stage.BUILD): "Grow: back to Build",
    (Stage.REVIEW, Stage.PRESENT): "Change: back to Present",
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _vary(response: HttpResponseBase) -> HttpResponseBase:
    patch_vary_headers(response, ["HX-Request"])
    return response


def _health_rule() -> str:
    """The documented rule from relationships/health.py, shown to users as written."""
    doc = HEALTH_RULE_DOC or ""
    start = doc.find("start at 100")
    return doc[start:].strip() if start >= 0 else doc.strip()


# --- List, export ---------------------------------------------------------------------


def _filtered(request: HttpRequest) -> RelationshipFilter:
    return RelationshipFilter(
        request.GET, queryset=selectors.relationships_visible_to(request.user)
    )


def _pk_urls(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for many pks: reversed once, then filled in. A reverse
    costs ~20 µs, a third of what drawing a board card costs (the board draws 125)."""
    placeholder = 2_147_483_647  # a pk no other part of a URL spells
    head, _, tail = reverse(name, args=[placeholder]).partition(str(placeholder))
    return lambda pk: f"{head}{pk}{tail}"


def _reference_rows(filterset: RelationshipFilter) -> dict[str, dict]:
    """The types, teams and categories the filter form offers (read once, from the cache),
    by id: what the list's rows show of them."""
    fields = filterset.form.fields
    return {
        name: {row.pk: row for row in fields[field].preloaded_rows}
        for name, field in (("types", "type"), ("teams", "team"), ("categories", "category"))
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    rows = selectors.list_rows(filterset.qs)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.with_references(page.object_list, **_reference_rows(filterset))
    detail_url = _pk_urls("relationships:detail")
    for row in page.object_list:
        row.detail_url = detail_url(row.pk)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    current_sort = sort_params.pop("sort", [""])[0] or "stakeholder"
    context = {
        "filterset": filterset,
        "page": page,
        "query": params.urlencode(),
        # Sort links keep every filter: "?q=x&" + "sort=health".
        "sort_prefix": f"?{sort_params.urlencode()}&" if sort_params else "?",
        "current_sort": current_sort,
        "sorts": SORTS,
        "may_create": permissions.may_create_relationship(request.user),
    }
    template = "relationships/list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return _vary(render(request, template, context))


@report_read
@require_GET
def export_csv(request: HttpRequest) -> HttpResponseBase:
    # The same filters as the list, on the same visibility-scoped queryset: the file never
    # holds a row the user could not open.
    rows = _filtered(request).qs
    header = [
        "Stakeholder",
        "Category",
        "Type",
        "Stage",
        "Manager",
        "Team",
        "Confidential",
        "Health",
        "Health band",
        "Manager rating",
        "Value fit",
        "Last contact",
        "Next review",
        "Started",
        "Ended",
        "Purpose",
    ]

    def lines():
        for r in rows.iterator(chunk_size=500):
            yield [
                r.stakeholder.name,
                r.stakeholder.category.name if r.stakeholder.category_id else "",
                r.type.name if r.type_id else "",
                r.get_stage_display(),
                str(r.manager) if r.manager_id else "",
                r.team.name if r.team_id else "",
                "yes" if r.confidential else "no",
                r.health_score,
                r.health_band,
                r.manager_rating or "",
                r.stakeholder.value_fit,
                r.last_interaction_on or "",
                r.next_review_on or "",
                r.started_on or "",
                r.ended_on or "",
                r.purpose,
            ]

    filename = f"relationships-{timezone.localdate().isoformat()}.csv"
    security_event_record(
        kind="export", request=request, detail=export_detail(filename, request=request)
    )
    return csv_response(filename, header, lines())


# --- Create and edit ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    if not permissions.may_create_relationship(request.user):
        raise PermissionDenied("Only relationship managers and admins open relationships.")
    if request.method == "POST":
        form = RelationshipCreateForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                relationship = lifecycle.relationship_open(by=request.user, **data)
            except RuleViolation as error:
                add_rule_error(form, error)
            else:
                messages.success(request, f"Relationship with {relationship.stakeholder} opened.")
                return redirect(relationship)
    else:
        initial = {"manager": request.user if request.user.is_manager else None}
        stakeholder_id = request.GET.get("stakeholder", "")
        if stakeholder_id.isdigit():
            stakeholder = Stakeholder.objects.filter(pk=stakeholder_id).first()
            if stakeholder is not None:
                initial["stakeholder"] = stakeholder
        teams = list(request.user.teams.all()[:2])
        if len(teams) == 1:
            initial["team"] = teams[0]
        form = RelationshipCreateForm(initial=initial, user=request.user)
    return render(request, "relationships/form.html", {"form": form, "relationship": None})


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, write=True)
    conflict = None
    if request.method == "POST":
        form = RelationshipEditForm(request.POST, instance=relationship, user=request.user)
        if form.is_valid():
            changes = {
                name: form.cleaned_data[name]
                for name in form.Meta.fields
                if name in form.changed_data
            }
            try:
                lifecycle.relationship_edit(
                    relationship=relationship,
                    by=request.user,
                    expected_version=form.cleaned_data["version"],
                    **changes,
                )
            except ConcurrencyConflict as error:
                conflict = error
                relationship = error.current
                form = _form_after_conflict(form, relationship, request.user)
            except RuleViolation as error:
                add_rule_error(form, error)
            else:
                messages.success(request, "Relationship saved.")
                return redirect(relationship)
    else:
        form = RelationshipEditForm(instance=relationship, user=request.user)
    status = 409 if conflict else 200
    return render(
        request,
        "relationships/form.html",
        {"form": form, "relationship": relationship, "conflict": conflict},
        status=status,
    )


def _form_after_conflict(
    form: RelationshipEditForm, current: Relationship, user
) -> RelationshipEditForm:
    """A fresh form on the record as saved now, carrying over only what this user changed.

    What they changed is measured against the version they loaded (from the history), so
    fields they did not touch show the other person's values instead of silently reverting
    them on the next save.
    """
    loaded = (
        current.history.filter(version=form.cleaned_data["version"]).order_by("-history_id").first()
    )
    mine = {}
    for name in form.Meta.fields:
        value = form.cleaned_data.get(name)
        if loaded is None:
            if name in form.changed_data:
                mine[name] = value
            continue
        field = Relationship._meta.get_field(name)
        before = getattr(loaded, field.attname)
        after = value.pk if field.is_relation and value is not None else value
        if isinstance(after, str):
            after, before = after.strip(), (before or "").strip()
        if after != before:
            mine[name] = value
    return RelationshipEditForm(initial=mine, instance=current, user=user)


# --- Detail ---------------------------------------------------------------------------


def _moves(relationship: Relationship) -> list[dict]:
    """The moves the lifecycle offers from here, each with what still stands in its way."""
    moves = []
    for to_stage in services.ALLOWED_MOVES.get(relationship.stage, ()):
        problems = [
            p
            for p in services.transition_problems(relationship, to_stage, note="-")
            if p.code != "reason_required"
        ]
        moves.append(
            {
                "stage": to_stage,
                "label": MOVE_LABELS.get((relationship.stage, to_stage))
                or ("End the relationship" if to_stage == Stage.ENDED else None)
                or f"Move to {Stage(to_stage).label}",
                "problems": problems,
                "needs_reason": to_stage == Stage.ENDED,
            }
        )
    order = [*LIFECYCLE, Stage.ENDED]
    moves.sort(key=lambda m: order.index(m["stage"]))
    return moves


def _detail_context(
    request: HttpRequest,
    relationship: Relationship,
    only: set[str] | None = None,
    **overrides,
) -> dict:
    """Everything the detail page shows; ``only`` limits the work to the named sections
    (timeline, health, commitments, value, history, lifecycle) for fragment responses."""

    def wanted(section: str) -> bool:
        return only is None or section in only

    user = request.user
    today = timezone.localdate()
    may_change = permissions.may_change_relationship(user, relationship)
    may_contribute = permissions.may_contribute_to_relationship(user, relationship)
    context = {
        "relationship": relationship,
        "today": today,
        "may_change": may_change,
        "may_contribute": may_contribute and relationship.is_active,
    }
    if wanted("health"):
        context["health_rule"] = _health_rule()
        context["rating_form"] = RatingForm(
            initial={
                "rating": relationship.manager_rating,
                "note": relationship.manager_rating_note,
            }
        )
    if wanted("timeline"):
        context["timeline"] = selectors.relationship_timeline(relationship)
    if wanted("commitments"):
        context["commitments"] = selectors.relationship_commitments(relationship, today)
        if may_contribute:
            context["commitment_form"] = CommitmentForm(relationship=relationship)
    if wanted("value"):
        context["value_totals"] = selectors.relationship_value_totals(relationship)
        context["value_by_month"] = selectors.relationship_value_by_month(relationship)
        if may_contribute:
            context["value_form"] = ValueRecordForm()
    # The change history (four history tables) loads on demand: see ``history`` below.
    if wanted("history") and overrides.pop("with_history", only is not None):
        context["history"] = selectors.relationship_history(relationship)
    if wanted("plans"):
        context["plan_links"] = objectives_for_relationship(relationship)
    if wanted("lifecycle"):
        context["moves"] = _moves(relationship) if may_change else []
        context["transition_form"] = TransitionForm(initial={"expected_stage": relationship.stage})
    if (
        only is None
        and may_contribute
        and relationship.is_active
        and "interaction_form" not in overrides
    ):
        # Starts on the channel the user logged last (kept on the server, not in the
        # browser: it follows them to any device, and works without JavaScript).
        channel = selectors.last_interaction_channel(request.user)
        initial = {"channel": channel} if channel else {}
        context["interaction_form"] = InteractionForm(relationship=relationship, initial=initial)
    context.update(overrides)
    return context


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk)
    return render(request, "relationships/detail.html", _detail_context(request, relationship))


@require_GET
def history(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The change history: an HTMX fragment loaded when the section scrolls into view, or the
    whole page with the history expanded for a plain request."""
    relationship = selectors.get_relationship_for(request.user, pk)
    if request.htmx:
        context = _detail_context(request, relationship, only={"history"})
        return _vary(render(request, "relationships/detail.html#history_list", context))
    context = _detail_context(request, relationship, with_history=True)
    return _vary(render(request, "relationships/detail.html", context))


# --- Lifecycle ------------------------------------------------------------------------


@require_POST
def transition(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, write=True)
    form = TransitionForm(request.POST)
    from_board = request.POST.get("source") == "board"
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            lifecycle.relationship_move(
                relationship=relationship,
                to_stage=data["to_stage"],
                by=request.user,
                note=data["note"],
                expected_stage=data["expected_stage"] or None,
            )
        except RuleViolation as refused:
            error = refused.message
    else:
        error = "Choose a stage to move to."

    if from_board and request.htmx:
        if error:
            # Only the card changes: it shows why the move was refused.
            # get_relationship_for(write=True) let us this far: the user may move it.
            card = _cards([relationship], may_move=lambda card: True)[0]
            context = {"card": card, "card_error": error, **_board_flags(request)}
            return render(request, "relationships/board.html#card", context)
        response = render(request, "relationships/board.html#board", _board_context(request))
        return reswap(retarget(response, "#board"), "outerHTML")
    if from_board:
        if error:
            messages.error(request, f"{relationship.stakeholder}: {error}")
        return redirect("relationships:board")
    if error:
        context = _detail_context(
            request, relationship, transition_form=form, transition_error=error
        )
        return render(request, "relationships/detail.html", context, status=200)
    messages.success(request, f"Moved to {relationship.get_stage_display()}.")
    return redirect(relationship)


def _board_flags(request: HttpRequest) -> dict:
    return {"board_query": request.GET.urlencode()}


def _cards(
    cards: list[Relationship], may_move: Callable[[Relationship], bool]
) -> list[Relationship]:
    """Cards as the board's ``card`` partial draws them: with their links and whether the
    viewer may move them."""
    detail_url, move_url = _pk_urls("relationships:detail"), _pk_urls("relationships:transition")
    for card in cards:
        card.detail_url = detail_url(card.pk)
        card.may_move = may_move(card)
        if card.may_move:
            card.move_url = move_url(card.pk)
    return cards


def _board_context(request: HttpRequest) -> dict:
    filterset = _filtered(request)
    columns = selectors.relationships_by_stage(filterset.qs, per_column=BOARD_COLUMN_LIMIT)
    user = request.user
    board = []
    for stage in LIFECYCLE:
        cards, total = columns[stage.value]
        _cards(cards, may_move=lambda card: permissions.may_change_relationship(user, card))
        params = request.GET.copy()
        params["stage"] = stage.value
        board.append(
            {
                "stage": stage,
                "cards": cards,
                "total": total,
                "list_url": f"{reverse('relationships:index')}?{params.urlencode()}",
            }
        )
    return {"board": board, "filterset": filterset, **_board_flags(request)}


@require_GET
def board(request: HtmxHttpRequest) -> HttpResponse:
    template = "relationships/board.html"
    if request.htmx and not request.htmx.boosted:
        template += "#board"
    return _vary(render(request, template, _board_context(request)))


# --- Interactions, commitments, value, rating ------------------------------------------


def _oob(request: HttpRequest, relationship: Relationship, *names: str, **extra) -> str:
    """Render detail-page sections for an out-of-band swap alongside the main fragment."""
    context = _detail_context(request, relationship, only=set(names), oob=True, **extra)
    return "".join(
        render_to_string(f"relationships/detail.html#{name}", context, request=request)
        for name in names
    )


@require_POST
def interaction_new(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, contribute=True)
    form = InteractionForm(request.POST, relationship=relationship)
    interaction = None
    if form.is_valid():
        data = form.cleaned_data
        follow_up = None
        if data["follow_up"].strip():
            follow_up = services.FollowUp(
                description=data["follow_up"],
                due_on=data["follow_up_due_on"],
                owner=data["follow_up_owner"],
            )
        try:
            interaction = services.interaction_log(
                relationship=relationship,
                by=request.user,
                occurred_on=data["occurred_on"],
                channel=data["channel"],
                summary=data["summary"],
                sentiment=data["sentiment"],
                participant_users=data["participant_users"],
                participant_contacts=data["participant_contacts"],
                is_key_experience=data["is_key_experience"],
                outcome=data["outcome"],
                follow_up=follow_up,
            )
        except RuleViolation as error:
            add_rule_error(form, error)

    if not request.htmx:
        if interaction is None:
            context = _detail_context(request, relationship, interaction_form=form)
            return render(request, "relationships/detail.html", context)
        messages.success(request, "Interaction logged.")
        return redirect(relationship)

    if interaction is None:
        context = {"relationship": relationship, "interaction_form": form}
        return render(request, "relationships/detail.html#quicklog", context)
    # A fresh, empty form; the sections the interaction changes are swapped out of band:
    # the timeline as a reload would show it (the interaction, and its follow-up's entry
    # above it), health, commitments, and what it can unlock (a partnering session, a key
    # experience) in the lifecycle.
    fresh = {
        "relationship": relationship,
        # On the channel just used: the one the user logged last.
        "interaction_form": InteractionForm(
            relationship=relationship, initial={"channel": interaction.channel}
        ),
        "logged": interaction,
    }
    html = render_to_string("relationships/detail.html#quicklog", fresh, request=request)
    html += _oob(request, relationship, "timeline", "health", "commitments", "lifecycle")
    return HttpResponse(html)


@require_POST
def commitment_new(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, contribute=True)
    form = CommitmentForm(request.POST, relationship=relationship)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.commitment_create(
                relationship=relationship,
                by=request.user,
                direction=data["direction"],
                description=data["description"],
                due_on=data["due_on"],
                owner=data["owner"] or request.user,
            )
        except RuleViolation as error:
            add_rule_error(form, error)
        else:
            if not request.htmx:
                messages.success(request, "Commitment recorded.")
                return redirect(f"{relationship.get_absolute_url()}#commitments")
            context = _detail_context(request, relationship, only={"commitments"})
            html = render_to_string(
                "relationships/detail.html#commitments", context, request=request
            )
            return HttpResponse(html + _oob(request, relationship, "health"))
    if request.htmx:
        context = _detail_context(request, relationship, only={"commitments"}, commitment_form=form)
        return render(request, "relationships/detail.html#commitments", context)
    context = _detail_context(request, relationship, commitment_form=form)
    return render(request, "relationships/detail.html", context)


@require_POST
def commitment_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    commitment = get_object_or_404(selectors.commitments_visible_to(request.user), pk=pk)
    relationship = selectors.get_relationship_for(
        request.user, commitment.relationship_id, contribute=True
    )
    commitment.relationship = relationship
    form = CommitmentStatusForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.commitment_set_status(
                commitment=commitment, by=request.user, status=form.cleaned_data["status"]
            )
        except RuleViolation as refused:
            error = refused.message
    else:
        error = "Choose open, kept, broken or dropped."

    source = request.POST.get("source")
    if request.htmx and source == "my":
        commitment.overdue = commitment.is_overdue(timezone.localdate())
        context = {"commitment": commitment, "row_error": error, "today": timezone.localdate()}
        return render(request, "relationships/my_commitments.html#row", context)
    if request.htmx:
        context = _detail_context(
            request, relationship, only={"commitments"}, commitment_error=error
        )
        html = render_to_string("relationships/detail.html#commitments", context, request=request)
        return HttpResponse(html + _oob(request, relationship, "health"))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Commitment marked {commitment.get_status_display().lower()}.")
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return redirect(f"{relationship.get_absolute_url()}#commitments")


@require_POST
def value_new(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, contribute=True)
    form = ValueRecordForm(request.POST)
    record = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            record = services.value_record_create(
                relationship=relationship,
                by=request.user,
                recorded_on=data["recorded_on"],
                kind=data["kind"],
                amount=data["amount"],
                unit=data["unit"],
                note=data["note"],
            )
        except RuleViolation as error:
            add_rule_error(form, error)
    if not request.htmx:
        if record is None:
            context = _detail_context(request, relationship, value_form=form)
            return render(request, "relationships/detail.html", context)
        messages.success(request, "Value recorded.")
        return redirect(f"{relationship.get_absolute_url()}#value")
    if record is None:
        context = _detail_context(request, relationship, only={"value"}, value_form=form)
        return render(request, "relationships/detail.html#value", context)
    context = _detail_context(request, relationship, only={"value"})
    html = render_to_string("relationships/detail.html#value", context, request=request)
    # The timeline as a reload would show it, the new record's entry included.
    return HttpResponse(html + _oob(request, relationship, "timeline"))


@require_POST
def rating(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    relationship = selectors.get_relationship_for(request.user, pk, write=True)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.relationship_rate(
                relationship=relationship,
                by=request.user,
                rating=form.cleaned_data["rating"],
                note=form.cleaned_data["note"],
            )
        except RuleViolation as error:
            add_rule_error(form, error)
        else:
            if not request.htmx:
                messages.success(request, "Your rating is saved.")
                return redirect(relationship)
            form = RatingForm(
                initial={
                    "rating": relationship.manager_rating,
                    "note": relationship.manager_rating_note,
                }
            )
    if request.htmx:
        context = _detail_context(request, relationship, only={"health"}, rating_form=form)
        return render(request, "relationships/detail.html#health", context)
    context = _detail_context(request, relationship, rating_form=form)
    return render(request, "relationships/detail.html", context)


# --- The owner's page -----------------------------------------------------------------


@require_GET
def my_commitments(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    commitments = list(selectors.open_commitments_of(request.user, today)[:200])
    for commitment in commitments:
        commitment.overdue = commitment.is_overdue(today)
    context = {
        "commitments": commitments,
        "overdue": sum(c.overdue for c in commitments),
        "today": today,
    }
    return render(request, "relationships/my_commitments.html", context)

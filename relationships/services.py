"""Every write to relationships and their records. Views, the API, admin and tasks call these.

Each function validates, runs in one transaction, records who did it (simple_history's
history_user and the transition log) and raises a RuleViolation/ConcurrencyConflict with a
machine-readable code and a message a person can act on. Nothing is saved when one is raised.

What a write means for other apps (the review schedule follows the stage and cadence) is
not done here: relationships never imports reviews. The entry points call the workflow
functions in ``workflows.lifecycle``, which call these and then the reviews step, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import Team, User
from core.errors import ConcurrencyConflict, RuleViolation
from core.errors import PermissionRefused as _PermissionRefused
from core.limits import check_length, length_problem
from events.services import EventSpec, event_record, events_record
from relationships.health import HealthFacts, compute_health
from relationships.models import (
    ACTIVE_STAGES,
    Commitment,
    Interaction,
    Relationship,
    RelationshipType,
    Stage,
    StageTransition,
    ValueRecord,
)
from relationships.selectors import remember_interaction_channel
from stakeholders.models import Contact, Stakeholder

__all__ = ["ConcurrencyConflict", "PermissionRefused", "RuleViolation"]


class PermissionRefused(_PermissionRefused):
    def __init__(self, message: str = "You may not change this relationship."):
        super().__init__(message)


def _today() -> date:
    return timezone.localdate()


def _stamp(instance, by: User | None) -> None:
    """simple_history reads the acting user from here, whatever the entry point."""
    instance._history_user = by


# --- Lifecycle ------------------------------------------------------------------------

# Which moves exist at all; guards below decide whether a particular move may happen now.
ALLOWED_MOVES: dict[str, set[str]] = {
    Stage.IDENTIFY: {Stage.PRESENT, Stage.ENDED},
    Stage.PRESENT: {Stage.PILOT, Stage.ENDED},
    Stage.PILOT: {Stage.BUILD, Stage.ENDED},
    Stage.BUILD: {Stage.REVIEW, Stage.ENDED},
    # The review decides: grow (back to build), change (back to present) or end.
    Stage.REVIEW: {Stage.BUILD, Stage.PRESENT, Stage.ENDED},
    Stage.ENDED: set(),
}


def has_partnering_session(relationship: Relationship) -> bool:
    if relationship.partnering_session_on and relationship.partnering_session_notes.strip():
        return True
    return relationship.interactions.filter(channel=Interaction.Channel.PARTNERING_SESSION).exists()


def has_key_experience(relationship: Relationship) -> bool:
    return relationship.interactions.filter(is_key_experience=True).exclude(outcome="").exists()


def transition_problems(relationship: Relationship, to_stage: str, note: str = "") -> list:
    """What stands between the relationship and ``to_stage``: a list of RuleViolations."""
    current = relationship.stage
    if to_stage not in Stage.values:
        return [RuleViolation("unknown_stage", f"“{to_stage}” is not a stage.", "to_stage")]
    if to_stage == current:
        return [
            RuleViolation(
                "already_in_stage", f"The relationship is already in {Stage(current).label}."
            )
        ]
    if to_stage not in ALLOWED_MOVES[current]:
        if current == Stage.ENDED:
            message = "The relationship has ended; start a new relationship instead."
        else:
            allowed = ", ".join(Stage(s).label for s in sorted(ALLOWED_MOVES[current]))
            message = (
                f"A relationship cannot move from {Stage(current).label} to "
                f"{Stage(to_stage).label}. From {Stage(current).label} it can move to: {allowed}."
            )
        return [RuleViolation("illegal_transition", message, "to_stage")]

    problems = []
    too_long = length_problem(note, field="note")
    if too_long is not None:
        problems.append(too_long)
    if to_stage == Stage.ENDED and not note.strip():
        problems.append(
            RuleViolation(
                "reason_required", "Ending a relationship needs a reason: say why it ends.", "note"
            )
        )
    if to_stage == Stage.PRESENT and current == Stage.IDENTIFY:
        if not relationship.type_id:
            problems.append(
                RuleViolation(
                    "type_required",
                    "Choose the relationship type (the form it takes) before presenting.",
                    "type",
                )
            )
        if not relationship.manager_id:
            problems.append(
                RuleViolation(
                    "manager_required",
                    "Name a relationship manager before presenting.",
                    "manager",
                )
            )
    if to_stage == Stage.PILOT and not has_partnering_session(relationship):
        problems.append(
            RuleViolation(
                "partnering_session_required",
                "Record the partnering work session first: log an interaction of kind "
                "“Partnering session”, or enter its date and notes.",
            )
        )
    if to_stage == Stage.BUILD and current == Stage.PILOT and not has_key_experience(relationship):
        problems.append(
            RuleViolation(
                "key_experience_required",
                "Log at least one pilot key experience with its outcome before building.",
            )
        )
    return problems


def _lock(pk: int) -> Relationship:
    """The relationship row, locked until the transaction ends, with what its events and the
    schedule read (the stakeholder's name, the type's cadence) in the same query."""
    return (
        Relationship.objects.select_for_update(of=("self",))
        .select_related("stakeholder", "type")
        .get(pk=pk)
    )


def _copy_state(target: Relationship, source: Relationship) -> None:
    """Bring the caller's object up to date from the locked copy, without reading it again."""
    if target is not source:
        for field in Relationship._meta.concrete_fields:
            setattr(target, field.attname, getattr(source, field.attname))


@transaction.atomic
def relationship_transition(
    *,
    relationship: Relationship,
    to_stage: str,
    by: User,
    note: str = "",
    expected_stage: str | None = None,
) -> StageTransition:
    """Move a relationship to another stage if the lifecycle rules allow it.

    ``expected_stage`` is the stage the caller saw (the board sends it): if someone moved the
    relationship meanwhile, the move is refused instead of applied to a different state.
    The review schedule is not touched: call ``workflows.lifecycle.relationship_move``.
    """
    # Lock the row: two people moving the same card at once must not both pass the guards.
    locked = _lock(relationship.pk)
    if not permissions.may_change_relationship(by, locked):
        raise PermissionRefused()
    if expected_stage and locked.stage != expected_stage:
        raise RuleViolation(
            "stage_changed",
            f"Someone moved this relationship to {Stage(locked.stage).label} meanwhile; "
            "reload to see the current state.",
        )
    [transition] = relationship_moves_apply(locked=locked, moves=[(to_stage, note)], by=by)
    # Callers keep using the object they passed in; bring it up to date.
    _copy_state(relationship, locked)
    return transition


def relationship_moves_apply(
    *,
    locked: Relationship,
    moves: list[tuple[str, str]],
    by: User,
    events: list[EventSpec] | None = None,
) -> list[StageTransition]:
    """Apply one or more lifecycle moves ``(to_stage, note)`` in order, each checked against
    the rules, then save the row once: one UPDATE, one history row, the transitions and
    their events in one INSERT each (a completed review moves Build → Review → Build).

    The caller has locked ``locked`` (``select_for_update``) in its open transaction and
    checked that ``by`` may change it; nothing is written if any move is refused.
    ``events``: a list to add the moves' events to, for a caller that records them with its
    own in one INSERT (``events_record``); by default they are recorded here.
    """
    today = _today()
    transitions: list[StageTransition] = []
    moved_events: list[EventSpec] = []
    for to_stage, note in moves:
        problems = transition_problems(locked, to_stage, note)
        if problems:
            raise problems[0] if len(problems) == 1 else _combine(problems)
        from_stage = locked.stage
        locked.stage = to_stage
        if from_stage == Stage.IDENTIFY and not locked.started_on:
            locked.started_on = today
        if to_stage == Stage.ENDED:
            locked.ended_on = today
            locked.end_reason = note.strip()
            locked.next_review_on = None
        transitions.append(
            StageTransition(
                relationship=locked,
                from_stage=from_stage,
                to_stage=to_stage,
                by=by,
                note=note.strip(),
            )
        )
        moved = {"from_stage": from_stage, "to_stage": to_stage, "note": note.strip()}
        moved_events.append(EventSpec("relationship.stage_changed", locked, by, moved))
        if to_stage == Stage.ENDED:
            moved_events.append(EventSpec("relationship.ended", locked, by, moved))
    locked.version += 1  # the caller's row lock makes this increment race-free
    _stamp(locked, by)
    locked.save()
    StageTransition.objects.bulk_create(transitions)
    if events is None:
        events_record(moved_events)
    else:
        events.extend(moved_events)
    return transitions


def _combine(problems: list[RuleViolation]) -> RuleViolation:
    combined = RuleViolation(problems[0].code, " ".join(p.message for p in problems))
    combined.problems = problems
    return combined


# --- Create and edit ------------------------------------------------------------------


# What relationship_create takes; the partnering session is recorded once it exists.
CREATE_FIELDS = (
    "type",
    "manager",
    "team",
    "confidential",
    "is_key",
    "purpose",
    "review_cadence_days",
)
EDITABLE_FIELDS = (*CREATE_FIELDS, "partnering_session_on", "partnering_session_notes")


def _check_team(by: User, team: Team | None) -> None:
    if team is not None and not permissions.may_assign_team(by, team.pk):
        raise RuleViolation(
            "team_not_allowed", "You can only assign one of your own teams.", "team"
        )


@transaction.atomic
def relationship_create(
    *,
    stakeholder: Stakeholder,
    by: User,
    type: RelationshipType | None = None,
    manager: User | None = None,
    team: Team | None = None,
    confidential: bool = False,
    is_key: bool = False,
    purpose: str = "",
    review_cadence_days: int | None = None,
) -> Relationship:
    if not permissions.may_create_relationship(by):
        raise PermissionRefused("Only relationship managers and admins open relationships.")
    if team is None and not by.is_admin:
        # A relationship belongs to a team so that its colleagues can see and continue it.
        own = list(by.teams.all()[:2])
        if len(own) == 1:
            team = own[0]
    _check_team(by, team)
    check_length(purpose, field="purpose")
    relationship = Relationship(
        stakeholder=stakeholder,
        type=type,
        manager=manager,
        team=team,
        confidential=confidential,
        is_key=is_key,
        purpose=purpose.strip(),
        review_cadence_days=review_cadence_days,
        created_by=by,
    )
    _set_initial_health(relationship)
    _stamp(relationship, by)
    relationship.save()
    event_record(
        verb="relationship.created",
        subject=relationship,
        actor=by,
        data={"stage": relationship.stage, "confidential": relationship.confidential},
    )
    return relationship


@transaction.atomic
def relationship_update(
    *, relationship: Relationship, by: User, expected_version: int, **changes
) -> Relationship:
    """Save edited fields unless someone else saved first (optimistic concurrency)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"These fields cannot be edited: {sorted(unknown)}")
    locked = _lock(relationship.pk)
    if not permissions.may_change_relationship(by, locked):
        raise PermissionRefused()
    if locked.version != expected_version:
        raise _conflict(locked, since_version=expected_version)
    if "team" in changes and changes["team"] != locked.team:
        _check_team(by, changes["team"])
    for name in ("purpose", "partnering_session_notes"):
        check_length(changes.get(name), field=name)
    changed = {}
    for name, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        before = getattr(locked, name)
        if before != value:
            changed[name] = [_display(before), _display(value)]
        setattr(locked, name, value)
    locked.version += 1  # the row lock above makes this increment race-free
    _stamp(locked, by)
    locked.save()
    if changed:
        event_record(
            verb="relationship.updated", subject=locked, actor=by, data={"changes": changed}
        )
    _copy_state(relationship, locked)
    return locked


def _conflict(current: Relationship, since_version: int) -> ConcurrencyConflict:
    """Describe what the other person changed, from the history, for the conflict message."""
    records = list(
        current.history.filter(version__gte=since_version)
        .select_related("history_user")
        .order_by("history_id")[:20]
    )
    newer = [r for r in records if r.version > since_version]
    latest = newer[-1] if newer else None
    who = str(latest.history_user) if latest and latest.history_user else "Someone"
    changes: list[str] = []
    # Pair each newer record with the one before it (already loaded: no query per record).
    for previous, record in zip(records, records[1:], strict=False):
        if record.version <= since_version:
            continue
        for change in record.diff_against(previous, foreign_keys_are_objs=True).changes:
            if change.field == "version":
                continue
            label = Relationship._meta.get_field(change.field).verbose_name
            old, new = (_display(value) for value in (change.old, change.new))
            changes.append(f"{label}: “{old}” → “{new}”")
    return ConcurrencyConflict(current, who, changes)


def _display(value) -> str:
    if value is None or value == "":
        return "—"
    # Historical related objects (foreign_keys_are_objs) print as the live object would.
    return str(getattr(value, "instance", value))


@transaction.atomic
def relationship_rate(*, relationship: Relationship, by: User, rating: int, note: str = "") -> None:
    """The manager's own view of the relationship, shown beside the computed health."""
    if rating not in range(1, 6):
        raise RuleViolation("invalid_rating", "The rating must be from 1 to 5.", "rating")
    check_length(note, field="note")
    # Lock and save the current row, so a stale caller copy never rewrites other fields.
    locked = _lock(relationship.pk)
    if not permissions.may_change_relationship(by, locked):
        raise PermissionRefused()
    locked.manager_rating = rating
    locked.manager_rating_note = note.strip()
    locked.manager_rating_on = _today()
    locked.version += 1
    _stamp(locked, by)
    locked.save()
    event_record(
        verb="relationship.rated",
        subject=locked,
        actor=by,
        data={"rating": rating, "note": locked.manager_rating_note[:200]},
    )
    _copy_state(relationship, locked)


# --- Interactions, commitments, value -------------------------------------------------


@dataclass
class FollowUp:
    description: str
    due_on: date | None = None
    owner: User | None = None


@transaction.atomic
def interaction_log(
    *,
    relationship: Relationship,
    by: User,
    occurred_on: date,
    channel: str,
    summary: str,
    sentiment: int = 0,
    participant_users: Iterable[User] = (),
    participant_contacts: Iterable[Contact] = (),
    is_key_experience: bool = False,
    outcome: str = "",
    follow_up: FollowUp | None = None,
) -> Interaction:
    if not permissions.may_contribute_to_relationship(by, relationship):
        raise PermissionRefused("You may not log interactions on this relationship.")
    if relationship.stage == Stage.ENDED:
        raise RuleViolation("relationship_ended", "This relationship has ended.")
    if not summary.strip():
        raise RuleViolation("summary_required", "Say briefly what happened.", "summary")
    check_length(summary, field="summary")
    if follow_up is not None:
        check_length(follow_up.description, field="follow_up")
    if occurred_on > _today():
        raise RuleViolation("future_date", "An interaction cannot be in the future.", "occurred_on")
    if channel not in Interaction.Channel.values:
        raise RuleViolation("invalid_channel", f"“{channel}” is not a channel.", "channel")
    if sentiment not in range(-2, 3):
        raise RuleViolation("invalid_sentiment", "Sentiment runs from −2 to +2.", "sentiment")
    if is_key_experience and outcome not in Interaction.Outcome.values:
        raise RuleViolation(
            "outcome_required",
            "A key experience needs its outcome: success, learning or disappointment.",
            "outcome",
        )
    if not is_key_experience and outcome:
        raise RuleViolation(
            "outcome_without_key_experience",
            "Only key experiences have an outcome; tick “pilot key experience”.",
            "outcome",
        )
    contacts = list(participant_contacts)
    foreign = [c for c in contacts if c.stakeholder_id not in (None, relationship.stakeholder_id)]
    if foreign:
        raise RuleViolation(
            "contact_elsewhere",
            f"{foreign[0]} is a contact of another stakeholder.",
            "participant_contacts",
        )

    interaction = Interaction(
        relationship=relationship,
        occurred_on=occurred_on,
        channel=channel,
        summary=summary.strip(),
        sentiment=sentiment,
        is_key_experience=is_key_experience,
        outcome=outcome if is_key_experience else "",
        created_by=by,
    )
    _stamp(interaction, by)
    interaction.save()
    # A new interaction has no participants yet: add them, without reading the current set.
    interaction.participant_users.add(*participant_users)
    interaction.participant_contacts.add(*contacts)
    event_record(
        verb="interaction.logged",
        subject=interaction,
        actor=by,
        data={
            "channel": channel,
            "occurred_on": occurred_on.isoformat(),
            "sentiment": sentiment,
            "summary": interaction.summary[:200],
            "is_key_experience": is_key_experience,
        },
    )
    if follow_up and follow_up.description.strip():
        # Within this transaction already: no savepoint of its own.
        _commitment_create(
            relationship=relationship,
            by=by,
            direction=Commitment.Direction.OURS,
            description=follow_up.description,
            due_on=follow_up.due_on,
            owner=follow_up.owner or by,
            source_interaction=interaction,
            refresh_health=False,  # refreshed once below, with the interaction counted
        )
    relationship_refresh_health(relationship)
    # The quick-log form starts on the channel the user logged last.
    transaction.on_commit(partial(remember_interaction_channel, by.pk, channel))
    return interaction


@transaction.atomic
def commitment_create(
    *,
    relationship: Relationship,
    by: User,
    direction: str,
    description: str,
    due_on: date | None = None,
    owner: User | None = None,
    source_interaction: Interaction | None = None,
    refresh_health: bool = True,
) -> Commitment:
    return _commitment_create(
        relationship=relationship,
        by=by,
        direction=direction,
        description=description,
        due_on=due_on,
        owner=owner,
        source_interaction=source_interaction,
        refresh_health=refresh_health,
    )


def _commitment_create(
    *,
    relationship: Relationship,
    by: User,
    direction: str,
    description: str,
    due_on: date | None,
    owner: User | None,
    source_interaction: Interaction | None,
    refresh_health: bool,
) -> Commitment:
    if not permissions.may_contribute_to_relationship(by, relationship):
        raise PermissionRefused("You may not add commitments to this relationship.")
    if direction not in Commitment.Direction.values:
        raise RuleViolation("invalid_direction", "Say who promised: we or they.", "direction")
    if not description.strip():
        raise RuleViolation("description_required", "Describe what was promised.", "description")
    check_length(description, field="description")
    commitment = Commitment(
        relationship=relationship,
        direction=direction,
        description=description.strip(),
        due_on=due_on,
        owner=owner,
        source_interaction=source_interaction,
        created_by=by,
    )
    _stamp(commitment, by)
    commitment.save()
    event_record(
        verb="commitment.created",
        subject=commitment,
        actor=by,
        data={
            "direction": direction,
            "description": commitment.description[:200],
            "due_on": due_on.isoformat() if due_on else None,
            "owner": owner.username if owner else None,
        },
    )
    if refresh_health:
        relationship_refresh_health(relationship)
    return commitment


@transaction.atomic
def commitment_set_status(*, commitment: Commitment, by: User, status: str) -> Commitment:
    relationship = commitment.relationship
    if not permissions.may_contribute_to_relationship(by, relationship):
        raise PermissionRefused("You may not change this commitment.")
    if status not in Commitment.Status.values:
        raise RuleViolation("invalid_status", f"“{status}” is not a commitment status.", "status")
    before = commitment.status
    commitment.status = status
    commitment.closed_on = None if status == Commitment.Status.OPEN else _today()
    _stamp(commitment, by)
    commitment.save(update_fields=["status", "closed_on"])
    event_record(
        verb="commitment.status_changed",
        subject=commitment,
        actor=by,
        data={"from": before, "to": status, "description": commitment.description[:200]},
    )
    relationship_refresh_health(relationship)
    return commitment


@transaction.atomic
def value_record_create(
    *,
    relationship: Relationship,
    by: User,
    recorded_on: date,
    kind: str,
    amount: Decimal | None = None,
    unit: str = "",
    note: str = "",
) -> ValueRecord:
    if not permissions.may_contribute_to_relationship(by, relationship):
        raise PermissionRefused("You may not record value on this relationship.")
    if kind not in ValueRecord.Kind.values:
        raise RuleViolation("invalid_kind", f"“{kind}” is not a kind of value.", "kind")
    check_length(note, field="note")
    check_length(unit, field="unit", limit=ValueRecord._meta.get_field("unit").max_length)
    if kind == ValueRecord.Kind.QUALITATIVE:
        if not note.strip():
            raise RuleViolation("note_required", "Describe the qualitative value.", "note")
        amount, unit = None, ""
    else:
        if amount is None:
            raise RuleViolation("amount_required", "Enter the amount.", "amount")
        if amount < 0:
            raise RuleViolation("negative_amount", "The amount cannot be negative.", "amount")
        if not unit.strip():
            raise RuleViolation("unit_required", "Enter the unit (GBP, hours …).", "unit")
    if recorded_on > _today():
        raise RuleViolation("future_date", "Value cannot be recorded in the future.", "recorded_on")
    record = ValueRecord(
        relationship=relationship,
        recorded_on=recorded_on,
        kind=kind,
        amount=amount,
        unit=_normalise_unit(kind, unit),
        note=note.strip(),
        created_by=by,
    )
    _stamp(record, by)
    record.save()
    event_record(
        verb="value_record.created",
        subject=record,
        actor=by,
        data={
            "kind": kind,
            "amount": str(amount) if amount is not None else None,
            "unit": record.unit,
            "note": record.note[:200],
        },
    )
    return record


MONETARY_KINDS = {ValueRecord.Kind.REVENUE, ValueRecord.Kind.COST_SAVING, ValueRecord.Kind.IN_KIND}


def _normalise_unit(kind: str, unit: str) -> str:
    """Currency codes are written in capitals (gbp → GBP) so totals group per currency."""
    unit = unit.strip()
    if kind in MONETARY_KINDS and len(unit) == 3 and unit.isalpha():
        return unit.upper()
    return unit


# --- Health ---------------------------------------------------------------------------

# Other apps (reviews) register functions adding facts: f(relationship_ids) -> {id: {...}}.
HEALTH_FACT_PROVIDERS: list = []


def _health_facts(relationship_ids: list[int], today: date) -> dict[int, HealthFacts]:
    facts = {pk: HealthFacts(today=today) for pk in relationship_ids}
    recent = (
        Interaction.objects.filter(relationship_id__in=relationship_ids)
        .order_by("relationship_id", "-occurred_on", "-id")
        .values_list("relationship_id", "occurred_on", "sentiment")
    )
    for rel_id, occurred_on, sentiment in recent.iterator(chunk_size=2000):
        item = facts[rel_id]
        if item.last_interaction_on is None:
            item.last_interaction_on = occurred_on
        if len(item.recent_sentiments) < 6:
            item.recent_sentiments.append(sentiment)
    overdue = (
        Commitment.objects.filter(
            relationship_id__in=relationship_ids,
            direction=Commitment.Direction.OURS,
            status=Commitment.Status.OPEN,
            due_on__lt=today,
        )
        .values_list("relationship_id", flat=True)
        .iterator()
    )
    for rel_id in overdue:
        facts[rel_id].overdue_commitments += 1
    for provider in HEALTH_FACT_PROVIDERS:
        for rel_id, extra in provider(relationship_ids).items():
            for name, value in extra.items():
                setattr(facts[rel_id], name, value)
    return facts


def _set_initial_health(relationship: Relationship) -> None:
    """A relationship about to be created has no records yet: score it from no facts."""
    health = compute_health(HealthFacts(today=_today()))
    relationship.health_score, relationship.health_reasons = health.score, health.reasons
    relationship.health_lifts = health.lifts


def relationship_refresh_health(relationship: Relationship, *, also: Iterable[str] = ()) -> None:
    """Recompute one relationship's health after something that feeds it changed.

    ``also``: other fields the caller set on the object, written in the same UPDATE.
    """
    facts = _health_facts([relationship.pk], _today())[relationship.pk]
    health = compute_health(facts)
    Relationship.objects.filter(pk=relationship.pk).update(
        health_score=health.score,
        health_reasons=health.reasons,
        health_lifts=health.lifts,
        last_interaction_on=facts.last_interaction_on,
        **{name: getattr(relationship, name) for name in also},
    )
    relationship.health_score = health.score
    relationship.health_reasons = health.reasons
    relationship.health_lifts = health.lifts
    relationship.last_interaction_on = facts.last_interaction_on


def relationships_refresh_health_all(batch_size: int = 2000) -> int:
    """Nightly: silence lowers health even when nothing is written, so recompute everything."""
    ids = list(Relationship.objects.filter(stage__in=ACTIVE_STAGES).values_list("pk", flat=True))
    today = _today()
    updated = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        facts = _health_facts(chunk, today)
        rows = []
        for pk in chunk:
            health = compute_health(facts[pk])
            rows.append(
                Relationship(
                    pk=pk,
                    health_score=health.score,
                    health_reasons=health.reasons,
                    health_lifts=health.lifts,
                    last_interaction_on=facts[pk].last_interaction_on,
                )
            )
        with transaction.atomic():
            Relationship.objects.bulk_update(
                rows, ["health_score", "health_reasons", "health_lifts", "last_interaction_on"]
            )
        updated += len(rows)
    return updated

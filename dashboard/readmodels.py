"""How PostgreSQL keeps the dashboard's tallies (dashboard.models) current, and how they are
rebuilt from the raw tables.

Row triggers on relationships, interactions and value records add each changed row's new
contribution and subtract its old one, in the writer's own transaction: a figure is right
the moment the write commits (a user sees their own write), a rolled-back write leaves no
trace, and no code path can forget to update them (bulk updates, the admin, imports and
raw SQL all fire them). The upserts of one change are applied in key order, so two writers
moving rows in opposite directions never wait for each other in a cycle.

``rebuild()`` recomputes every tally from the raw rows (``manage.py rebuild_read_models``)
and ``install()`` (re)creates the functions and triggers; the week of an interaction is
taken in settings.TIME_ZONE, so a changed time zone needs ``rebuild_read_models``, which
reinstalls them. On SQLite neither does anything: the selectors read the raw tables there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction

WATCHED_TABLES = (
    "relationships_relationship",
    "relationships_interaction",
    "relationships_valuerecord",
)
# Power and interest place a stakeholder on the map (MapCellTally).
LOCKED_TABLES = (*WATCHED_TABLES, "stakeholders_stakeholder")
TALLY_TABLES = (
    "dashboard_relationshiptally",
    "dashboard_contacttally",
    "dashboard_interactionweektally",
    "dashboard_stakeholdertally",
    "dashboard_stakeholdervaluetally",
)
# Derived from the stakeholder tallies above by triggers of their own (the map's reach).
REACH_TABLES = (
    "dashboard_stakeholderreachtally",
    "dashboard_stakeholderreachvaluetally",
    "dashboard_mapcelltally",
)
PAUSED = "current_setting('rapport.tallies_paused', true) = 'on'"

# A relationship row as every tally keys it, joined after ``relationships_relationship r``:
# the one place (dashboard_relationship_rows) that says what a slice, a health bucket or
# "active" is, for the triggers and the rebuild alike.
AS_KEYED = "CROSS JOIN LATERAL dashboard_relationship_rows(NULL, r) AS k"
SLICE = "k.team_key, k.confidential, k.manager_key"


def _functions_sql(time_zone: str) -> str:
    zone = time_zone.replace("'", "''")
    return f"""
CREATE OR REPLACE FUNCTION dashboard_week_of(moment timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('week', moment AT TIME ZONE '{zone}')::date
$$;

-- A relationship's contribution to every tally it feeds, with a sign: -1 for the row as it
-- was, +1 for the row as it is (a NULL row, as OLD on insert, contributes nothing).
CREATE OR REPLACE FUNCTION dashboard_relationship_rows(
    old_row relationships_relationship, new_row relationships_relationship
) RETURNS TABLE (
    sign int, relationship_id bigint, stakeholder_id bigint,
    team_key bigint, confidential boolean, manager_key bigint,
    stage varchar, active boolean, health int, bucket smallint, key_flag boolean,
    managed boolean, last_contact date
) LANGUAGE sql STABLE AS $$
    SELECT v.sign, (v.r).id, (v.r).stakeholder_id,
        COALESCE((v.r).team_id, 0), (v.r).confidential,
        CASE WHEN (v.r).confidential THEN COALESCE((v.r).manager_id, 0) ELSE 0 END,
        (v.r).stage, (v.r).stage <> 'ended', (v.r).health_score,
        CASE WHEN (v.r).stage <> 'ended' THEN LEAST((v.r).health_score / 10, 9) ELSE -1 END,
        (v.r).stage <> 'ended' AND (v.r).is_key,
        (v.r).stage <> 'ended' AND (v.r).manager_id IS NOT NULL,
        COALESCE((v.r).last_interaction_on, DATE '0001-01-01')
    FROM (VALUES (-1, old_row), (1, new_row)) AS v(sign, r)
    WHERE (v.r).id IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION dashboard_tally_relationship() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_row relationships_relationship := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD END;
    new_row relationships_relationship := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW END;
    moved boolean;
BEGIN
    IF current_setting('rapport.tallies_paused', true) = 'on' THEN
        RETURN NULL;  -- a bulk load in this session: recounted once at its end (bulk_load)
    END IF;
    IF TG_OP = 'UPDATE' AND (
        OLD.team_id, OLD.confidential, OLD.manager_id, OLD.stage, OLD.health_score,
        OLD.is_key, OLD.last_interaction_on, OLD.stakeholder_id
    ) IS NOT DISTINCT FROM (
        NEW.team_id, NEW.confidential, NEW.manager_id, NEW.stage, NEW.health_score,
        NEW.is_key, NEW.last_interaction_on, NEW.stakeholder_id
    ) THEN
        RETURN NULL;  -- purpose, notes, dates …: nothing any tally counts
    END IF;

    INSERT INTO dashboard_relationshiptally AS t (
        team_key, confidential, manager_key, stage, health_bucket, is_key, managed,
        relationships, health_total
    )
    SELECT team_key, confidential, manager_key, stage, bucket, key_flag, managed,
        SUM(sign), SUM(sign * health)
    FROM dashboard_relationship_rows(old_row, new_row)
    GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(sign) <> 0 OR SUM(sign * health) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (team_key, confidential, manager_key, stage, health_bucket, is_key, managed)
    DO UPDATE SET relationships = t.relationships + EXCLUDED.relationships,
        health_total = t.health_total + EXCLUDED.health_total;

    INSERT INTO dashboard_contacttally AS t (
        team_key, confidential, manager_key, last_contact_on, relationships
    )
    SELECT team_key, confidential, manager_key, last_contact, SUM(sign)
    FROM dashboard_relationship_rows(old_row, new_row) WHERE active
    GROUP BY 1, 2, 3, 4 HAVING SUM(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_key, confidential, manager_key, last_contact_on)
    DO UPDATE SET relationships = t.relationships + EXCLUDED.relationships;

    INSERT INTO dashboard_stakeholdertally AS t (
        stakeholder_id, team_key, confidential, manager_key, relationships, health_total
    )
    SELECT stakeholder_id, team_key, confidential, manager_key, SUM(sign), SUM(sign * health)
    FROM dashboard_relationship_rows(old_row, new_row) WHERE active
    GROUP BY 1, 2, 3, 4 HAVING SUM(sign) <> 0 OR SUM(sign * health) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (stakeholder_id, team_key, confidential, manager_key)
    DO UPDATE SET relationships = t.relationships + EXCLUDED.relationships,
        health_total = t.health_total + EXCLUDED.health_total;

    IF TG_OP <> 'UPDATE' THEN
        RETURN NULL;  -- its interactions and value records count themselves as they come and go
    END IF;

    -- The relationship changed slice (team, confidentiality, manager of a confidential one,
    -- stakeholder, ended or not): its interactions and value move with it.
    moved := (
        COALESCE(OLD.team_id, 0), OLD.confidential,
        CASE WHEN OLD.confidential THEN COALESCE(OLD.manager_id, 0) ELSE 0 END
    ) IS DISTINCT FROM (
        COALESCE(NEW.team_id, 0), NEW.confidential,
        CASE WHEN NEW.confidential THEN COALESCE(NEW.manager_id, 0) ELSE 0 END
    );
    IF moved THEN
        INSERT INTO dashboard_interactionweektally AS t (
            week, team_key, confidential, manager_key, person_key, interactions
        )
        SELECT dashboard_week_of(i.created_at), r.team_key, r.confidential, r.manager_key,
            COALESCE(i.created_by_id, 0), SUM(r.sign)
        FROM relationships_interaction i
        CROSS JOIN dashboard_relationship_rows(old_row, new_row) r
        WHERE i.relationship_id = NEW.id
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(r.sign) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (week, team_key, confidential, manager_key, person_key)
        DO UPDATE SET interactions = t.interactions + EXCLUDED.interactions;
    END IF;

    IF moved OR OLD.stakeholder_id IS DISTINCT FROM NEW.stakeholder_id
        OR (OLD.stage = 'ended') IS DISTINCT FROM (NEW.stage = 'ended') THEN
        INSERT INTO dashboard_stakeholdervaluetally AS t (
            stakeholder_id, team_key, confidential, manager_key, unit, amount, records
        )
        SELECT r.stakeholder_id, r.team_key, r.confidential, r.manager_key, v.unit,
            SUM(r.sign * COALESCE(v.amount, 0)), SUM(r.sign)
        FROM relationships_valuerecord v
        CROSS JOIN dashboard_relationship_rows(old_row, new_row) r
        WHERE v.relationship_id = NEW.id AND v.kind <> 'qualitative' AND r.active
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(r.sign) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (stakeholder_id, team_key, confidential, manager_key, unit)
        DO UPDATE SET amount = t.amount + EXCLUDED.amount,
            records = t.records + EXCLUDED.records;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_tally_interaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('rapport.tallies_paused', true) = 'on' THEN
        RETURN NULL;  -- a bulk load in this session: recounted once at its end (bulk_load)
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.relationship_id, OLD.created_at, OLD.created_by_id)
        IS NOT DISTINCT FROM (NEW.relationship_id, NEW.created_at, NEW.created_by_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dashboard_interactionweektally AS t (
        week, team_key, confidential, manager_key, person_key, interactions
    )
    SELECT week, {SLICE}, person_key, SUM(change.sign)
    FROM (
        SELECT -1 AS sign, OLD.relationship_id AS relationship_id,
            dashboard_week_of(OLD.created_at) AS week,
            COALESCE(OLD.created_by_id, 0) AS person_key
        WHERE TG_OP <> 'INSERT'
        UNION ALL
        SELECT 1, NEW.relationship_id, dashboard_week_of(NEW.created_at),
            COALESCE(NEW.created_by_id, 0)
        WHERE TG_OP <> 'DELETE'
    ) AS change
    JOIN relationships_relationship r ON r.id = change.relationship_id {AS_KEYED}
    GROUP BY 1, 2, 3, 4, 5 HAVING SUM(change.sign) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (week, team_key, confidential, manager_key, person_key)
    DO UPDATE SET interactions = t.interactions + EXCLUDED.interactions;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_tally_value() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('rapport.tallies_paused', true) = 'on' THEN
        RETURN NULL;  -- a bulk load in this session: recounted once at its end (bulk_load)
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.relationship_id, OLD.kind, OLD.unit, OLD.amount)
        IS NOT DISTINCT FROM (NEW.relationship_id, NEW.kind, NEW.unit, NEW.amount) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dashboard_stakeholdervaluetally AS t (
        stakeholder_id, team_key, confidential, manager_key, unit, amount, records
    )
    SELECT k.stakeholder_id, {SLICE}, change.unit,
        SUM(change.sign * COALESCE(change.amount, 0)), SUM(change.sign)
    FROM (
        SELECT -1 AS sign, OLD.relationship_id AS relationship_id, OLD.unit AS unit,
            OLD.amount AS amount
        WHERE TG_OP <> 'INSERT' AND OLD.kind <> 'qualitative'
        UNION ALL
        SELECT 1, NEW.relationship_id, NEW.unit, NEW.amount
        WHERE TG_OP <> 'DELETE' AND NEW.kind <> 'qualitative'
    ) AS change
    JOIN relationships_relationship r ON r.id = change.relationship_id {AS_KEYED}
    WHERE k.active
    GROUP BY 1, 2, 3, 4, 5
    HAVING SUM(change.sign) <> 0 OR SUM(change.sign * COALESCE(change.amount, 0)) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (stakeholder_id, team_key, confidential, manager_key, unit)
    DO UPDATE SET amount = t.amount + EXCLUDED.amount, records = t.records + EXCLUDED.records;
    RETURN NULL;
END
$$;

-- The reach tallies (dashboard.models.Reach): a stakeholder tally row's change, added to
-- its stakeholder's "all" row and, for an open slice, to its "open" row too.
CREATE OR REPLACE FUNCTION dashboard_reach_from_holder() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_after dashboard_stakeholdertally := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    relationships_change int := COALESCE(NEW.relationships, 0) - COALESCE(OLD.relationships, 0);
    health_change bigint := COALESCE(NEW.health_total, 0) - COALESCE(OLD.health_total, 0);
BEGIN
    IF {PAUSED} OR (relationships_change = 0 AND health_change = 0) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dashboard_stakeholderreachtally AS t (
        stakeholder_id, reach, relationships, health_total
    )
    SELECT row_after.stakeholder_id, reach, relationships_change, health_change
    FROM unnest(ARRAY['all', 'open']) AS reach
    WHERE reach = 'all' OR NOT row_after.confidential
    ORDER BY reach
    ON CONFLICT (stakeholder_id, reach)
    DO UPDATE SET relationships = t.relationships + EXCLUDED.relationships,
        health_total = t.health_total + EXCLUDED.health_total;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_reach_from_value() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_after dashboard_stakeholdervaluetally := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    amount_change numeric := COALESCE(NEW.amount, 0) - COALESCE(OLD.amount, 0);
BEGIN
    IF {PAUSED} OR amount_change = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO dashboard_stakeholderreachvaluetally AS t (stakeholder_id, reach, unit, amount)
    SELECT row_after.stakeholder_id, reach, row_after.unit, amount_change
    FROM unnest(ARRAY['all', 'open']) AS reach
    WHERE reach = 'all' OR NOT row_after.confidential
    ORDER BY reach
    ON CONFLICT (stakeholder_id, reach, unit)
    DO UPDATE SET amount = t.amount + EXCLUDED.amount;
    RETURN NULL;
END
$$;

-- A stakeholder's reach row changed: its map cell counts it while it has relationships.
-- (One row per stakeholder and reach, so OLD and NEW are exactly before and after.)
CREATE OR REPLACE FUNCTION dashboard_cells_from_reach() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_after dashboard_stakeholderreachtally := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    placed stakeholders_stakeholder;
BEGIN
    IF {PAUSED} THEN
        RETURN NULL;
    END IF;
    SELECT * INTO placed FROM stakeholders_stakeholder WHERE id = row_after.stakeholder_id;
    IF placed.power IS NULL OR placed.interest IS NULL THEN
        RETURN NULL;  -- not on the map (or gone)
    END IF;
    INSERT INTO dashboard_mapcelltally AS t (
        reach, power, interest, stakeholders, relationships, health_total
    )
    VALUES (
        row_after.reach, placed.power, placed.interest,
        (COALESCE(NEW.relationships, 0) > 0)::int - (COALESCE(OLD.relationships, 0) > 0)::int,
        COALESCE(NEW.relationships, 0) - COALESCE(OLD.relationships, 0),
        COALESCE(NEW.health_total, 0) - COALESCE(OLD.health_total, 0)
    )
    ON CONFLICT (reach, power, interest)
    DO UPDATE SET stakeholders = t.stakeholders + EXCLUDED.stakeholders,
        relationships = t.relationships + EXCLUDED.relationships,
        health_total = t.health_total + EXCLUDED.health_total;
    RETURN NULL;
END
$$;

-- A stakeholder reassessed (power or interest changed) moves to another cell.
CREATE OR REPLACE FUNCTION dashboard_cells_from_stakeholder() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {PAUSED} OR (OLD.power, OLD.interest) IS NOT DISTINCT FROM (NEW.power, NEW.interest) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dashboard_mapcelltally AS t (
        reach, power, interest, stakeholders, relationships, health_total
    )
    SELECT r.reach, cell.power, cell.interest,
        SUM(cell.sign * (r.relationships > 0)::int), SUM(cell.sign * r.relationships),
        SUM(cell.sign * r.health_total)
    FROM dashboard_stakeholderreachtally r
    CROSS JOIN (VALUES (-1, OLD.power, OLD.interest), (1, NEW.power, NEW.interest))
        AS cell(sign, power, interest)
    WHERE r.stakeholder_id = NEW.id AND cell.power IS NOT NULL AND cell.interest IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (reach, power, interest)
    DO UPDATE SET stakeholders = t.stakeholders + EXCLUDED.stakeholders,
        relationships = t.relationships + EXCLUDED.relationships,
        health_total = t.health_total + EXCLUDED.health_total;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS dashboard_reach ON dashboard_stakeholdertally;
CREATE TRIGGER dashboard_reach AFTER INSERT OR UPDATE OR DELETE ON dashboard_stakeholdertally
    FOR EACH ROW EXECUTE FUNCTION dashboard_reach_from_holder();
DROP TRIGGER IF EXISTS dashboard_reach ON dashboard_stakeholdervaluetally;
CREATE TRIGGER dashboard_reach AFTER INSERT OR UPDATE OR DELETE
    ON dashboard_stakeholdervaluetally
    FOR EACH ROW EXECUTE FUNCTION dashboard_reach_from_value();
DROP TRIGGER IF EXISTS dashboard_cells ON dashboard_stakeholderreachtally;
CREATE TRIGGER dashboard_cells AFTER INSERT OR UPDATE OR DELETE
    ON dashboard_stakeholderreachtally
    FOR EACH ROW EXECUTE FUNCTION dashboard_cells_from_reach();
DROP TRIGGER IF EXISTS dashboard_cells ON stakeholders_stakeholder;
CREATE TRIGGER dashboard_cells AFTER UPDATE OF power, interest ON stakeholders_stakeholder
    FOR EACH ROW EXECUTE FUNCTION dashboard_cells_from_stakeholder();
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_relationship;
CREATE TRIGGER dashboard_tally AFTER INSERT OR UPDATE OR DELETE ON relationships_relationship
    FOR EACH ROW EXECUTE FUNCTION dashboard_tally_relationship();
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_interaction;
CREATE TRIGGER dashboard_tally AFTER INSERT OR UPDATE OR DELETE ON relationships_interaction
    FOR EACH ROW EXECUTE FUNCTION dashboard_tally_interaction();
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_valuerecord;
CREATE TRIGGER dashboard_tally AFTER INSERT OR UPDATE OR DELETE ON relationships_valuerecord
    FOR EACH ROW EXECUTE FUNCTION dashboard_tally_value();
"""


UNINSTALL_SQL = """
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_relationship;
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_interaction;
DROP TRIGGER IF EXISTS dashboard_tally ON relationships_valuerecord;
DROP FUNCTION IF EXISTS dashboard_tally_relationship();
DROP FUNCTION IF EXISTS dashboard_tally_interaction();
DROP FUNCTION IF EXISTS dashboard_tally_value();
DROP FUNCTION IF EXISTS dashboard_relationship_rows(
    relationships_relationship, relationships_relationship
);
DROP FUNCTION IF EXISTS dashboard_week_of(timestamptz);
DROP TRIGGER IF EXISTS dashboard_reach ON dashboard_stakeholdertally;
DROP TRIGGER IF EXISTS dashboard_reach ON dashboard_stakeholdervaluetally;
DROP TRIGGER IF EXISTS dashboard_cells ON dashboard_stakeholderreachtally;
DROP TRIGGER IF EXISTS dashboard_cells ON stakeholders_stakeholder;
DROP FUNCTION IF EXISTS dashboard_reach_from_holder();
DROP FUNCTION IF EXISTS dashboard_reach_from_value();
DROP FUNCTION IF EXISTS dashboard_cells_from_reach();
DROP FUNCTION IF EXISTS dashboard_cells_from_stakeholder();
"""


def _rebuild_sql() -> list[str]:
    return [
        *(f"DELETE FROM {table}" for table in (*TALLY_TABLES, *REACH_TABLES)),
        f"""
        INSERT INTO dashboard_relationshiptally (
            team_key, confidential, manager_key, stage, health_bucket, is_key, managed,
            relationships, health_total
        )
        SELECT {SLICE}, k.stage, k.bucket, k.key_flag, k.managed, COUNT(*), SUM(k.health)
        FROM relationships_relationship r {AS_KEYED}
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        """,
        f"""
        INSERT INTO dashboard_contacttally (
            team_key, confidential, manager_key, last_contact_on, relationships
        )
        SELECT {SLICE}, k.last_contact, COUNT(*)
        FROM relationships_relationship r {AS_KEYED} WHERE k.active
        GROUP BY 1, 2, 3, 4
        """,
        f"""
        INSERT INTO dashboard_stakeholdertally (
            stakeholder_id, team_key, confidential, manager_key, relationships, health_total
        )
        SELECT k.stakeholder_id, {SLICE}, COUNT(*), SUM(k.health)
        FROM relationships_relationship r {AS_KEYED} WHERE k.active
        GROUP BY 1, 2, 3, 4
        """,
        f"""
        INSERT INTO dashboard_interactionweektally (
            week, team_key, confidential, manager_key, person_key, interactions
        )
        SELECT dashboard_week_of(i.created_at), {SLICE}, COALESCE(i.created_by_id, 0),
            COUNT(*)
        FROM relationships_interaction i
        JOIN relationships_relationship r ON r.id = i.relationship_id {AS_KEYED}
        GROUP BY 1, 2, 3, 4, 5
        """,
        f"""
        INSERT INTO dashboard_stakeholdervaluetally (
            stakeholder_id, team_key, confidential, manager_key, unit, amount, records
        )
        SELECT k.stakeholder_id, {SLICE}, v.unit, SUM(COALESCE(v.amount, 0)), COUNT(*)
        FROM relationships_valuerecord v
        JOIN relationships_relationship r ON r.id = v.relationship_id {AS_KEYED}
        WHERE v.kind <> 'qualitative' AND k.active
        GROUP BY 1, 2, 3, 4, 5
        """,
        # The reach tallies from the stakeholder tallies just counted (their triggers are
        # paused meanwhile: rebuild()).
        """
        INSERT INTO dashboard_stakeholderreachtally (
            stakeholder_id, reach, relationships, health_total
        )
        SELECT t.stakeholder_id, reach, SUM(t.relationships), SUM(t.health_total)
        FROM dashboard_stakeholdertally t CROSS JOIN unnest(ARRAY['all', 'open']) AS reach
        WHERE reach = 'all' OR NOT t.confidential
        GROUP BY 1, 2
        """,
        """
        INSERT INTO dashboard_stakeholderreachvaluetally (stakeholder_id, reach, unit, amount)
        SELECT t.stakeholder_id, reach, t.unit, SUM(t.amount)
        FROM dashboard_stakeholdervaluetally t CROSS JOIN unnest(ARRAY['all', 'open']) AS reach
        WHERE reach = 'all' OR NOT t.confidential
        GROUP BY 1, 2, 3
        """,
        """
        INSERT INTO dashboard_mapcelltally (
            reach, power, interest, stakeholders, relationships, health_total
        )
        SELECT r.reach, s.power, s.interest, COUNT(*) FILTER (WHERE r.relationships > 0),
            SUM(r.relationships), SUM(r.health_total)
        FROM dashboard_stakeholderreachtally r
        JOIN stakeholders_stakeholder s ON s.id = r.stakeholder_id
        WHERE s.power IS NOT NULL AND s.interest IS NOT NULL
        GROUP BY 1, 2, 3
        """,
    ]


def maintained() -> bool:
    """Whether the tallies exist and are kept current (PostgreSQL), or the selectors must
    read the raw tables (SQLite)."""
    return connection.vendor == "postgresql"


def install() -> None:
    if maintained():
        with connection.cursor() as cursor:
            cursor.execute(_functions_sql(settings.TIME_ZONE))


def uninstall() -> None:
    if maintained():
        with connection.cursor() as cursor:
            cursor.execute(UNINSTALL_SQL)


def rebuild() -> int:
    """Recompute every tally from the raw rows; the rows written. The tables are locked
    against writes meanwhile, so no change slips between the recount and the triggers."""
    if not maintained():
        return 0
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_functions_sql(settings.TIME_ZONE))
        cursor.execute(f"LOCK TABLE {', '.join(LOCKED_TABLES)} IN SHARE MODE")
        # Every tally is recounted below, so none of the triggers between them may add to
        # it meanwhile. Paused for this transaction only, and resumed explicitly: inside
        # an outer transaction (a test) the setting would otherwise outlive the rebuild.
        cursor.execute("SELECT current_setting('rapport.tallies_paused', true)")
        (was,) = cursor.fetchone()
        cursor.execute("SELECT set_config('rapport.tallies_paused', 'on', true)")
        for statement in _rebuild_sql():
            cursor.execute(statement)
            if statement.lstrip().startswith("INSERT"):
                written += cursor.rowcount
        cursor.execute("SELECT set_config('rapport.tallies_paused', %s, true)", [was or "off"])
    return written


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """Pause the triggers for this session while it loads many rows (the demo seed: one
    recount at the end costs seconds where millions of row upserts cost many minutes), then
    recount. Other sessions' writes meanwhile are covered by the recount too."""
    if not maintained():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('rapport.tallies_paused', 'on', false)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('rapport.tallies_paused', 'off', false)")
        rebuild()

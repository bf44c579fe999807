"""Migration 0007 both ways on SQLite and PostgreSQL: the attendance tables arrive empty,
enforce one row per enrolment and day and a match that names its enrolment, and leave
without touching what 0006 holds."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from test_schema import schema_differences

from lms.migrate import downgrade, upgrade

NOW = "2027-01-12 10:00:00"


def _offering_at_0006(conn) -> None:
    """A module with a one-day offering and one clinician enrolled, as 0006 keeps them."""
    conn.execute(
        text(
            "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
            " format, position, recommended_note, equivalent_label, certificate_design,"
            " active, created_at, updated_at) VALUES (3, 'M2', 'core_module', 'Module 2',"
            " '', '', '', 2, '', '', 'module', :yes, :now, :now)"
        ),
        {"yes": True, "now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO users (id, email, name, credentials, auth_token, active,"
            " pre_licensed, notify_optional, created_at) VALUES"
            " (5, 'p@example.test', 'P', '', 't5', :yes, :no, :yes, :now)"
        ),
        {"yes": True, "no": False, "now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO offerings (id, item_id, status, format, starts_on, ends_on, location,"
            " join_url, capacity, created_at, updated_at) VALUES (8, 3, 'scheduled',"
            " 'live_online', '2027-01-12', '2027-01-12', '', '', 20, :now, :now)"
        ),
        {"now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO offering_days (id, offering_id, held_on, starts_at, ends_at)"
            " VALUES (11, 8, '2027-01-12', '09:00:00', '16:00:00')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO enrolments (id, user_id, offering_id, status, source, low_risk,"
            " applied_at) VALUES (21, 5, 8, 'enrolled', 'staff', :no, :now)"
        ),
        {"no": False, "now": NOW},
    )


def _count(conn, table: str) -> int:
    """Rows in a table (our own names only)."""
    return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()  # noqa: S608


def test_migration_0007_adds_the_attendance_tables_and_takes_them_away_again(
    blank_database: Engine,
) -> None:
    engine = blank_database
    upgrade(engine, "0006")
    with engine.begin() as conn:
        _offering_at_0006(conn)
    upgrade(engine, "head")  # 0007 and what follows it: the models are the newest schema
    assert schema_differences(engine) == []
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO attendance (enrolment_id, offering_day_id, present, minutes,"
                " source, updated_at) VALUES (21, 11, :yes, 400, 'report', :now)"
            ),
            {"yes": True, "now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO participant_report_rows (offering_day_id, line, name, email,"
                " minutes, joins, enrolment_id, match, imported_at) VALUES"
                " (11, 5, 'P', 'p@example.test', 400, 2, 21, 'email', :now),"
                " (11, 7, 'Guest', '', 30, 1, NULL, 'unmatched', :now)"
            ),
            {"now": NOW},
        )
    refused = [
        # a second row for the same enrolment and day
        "INSERT INTO attendance (enrolment_id, offering_day_id, present, source, updated_at)"
        " VALUES (21, 11, :no, 'manual', :now)",
        # a match that names nobody
        "INSERT INTO participant_report_rows (offering_day_id, line, name, email, minutes,"
        " joins, enrolment_id, match, imported_at) VALUES (11, 9, 'X', '', 3, 1, NULL, 'hand',"
        " :now)",
        # negative minutes
        "INSERT INTO attendance (enrolment_id, offering_day_id, present, minutes, source,"
        " updated_at) VALUES (21, 11, :no, -5, 'manual', :now)",
    ]
    for statement in refused:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(statement), {"no": False, "now": NOW})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM offering_days WHERE id = 11"))  # a day removed
        assert _count(conn, "attendance") == 0  # takes its attendance with it
        assert _count(conn, "participant_report_rows") == 0
        conn.execute(
            text(
                "INSERT INTO offering_days (id, offering_id, held_on) VALUES (11, 8, '2027-01-12')"
            )
        )
    downgrade(engine, "0006")
    names = set(inspect(engine).get_table_names())
    assert not {"attendance", "participant_report_rows"} & names
    with engine.connect() as conn:
        assert _count(conn, "enrolments") == 1 and _count(conn, "offering_days") == 1
    upgrade(engine, "head")
    assert schema_differences(engine) == []

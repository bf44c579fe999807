"""The schema: Alembic migrations and the models agree, migrate both ways, and SQLite is tuned."""

from __future__ import annotations

import json
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from lms.db import Base, make_engine
from lms.migrate import downgrade, upgrade
from lms.models import import_all_models

import_all_models()

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")


def schema_differences(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models ([] = agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, Base.metadata)


def tables(engine: Engine) -> set[str]:
    """Tables present, Alembic's bookkeeping table aside."""
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_and_models_agree(blank_database):
    """Upgrading to head yields exactly the models' schema: tables, columns, types, indexes."""
    upgrade(blank_database)
    assert tables(blank_database) == {t.name for t in Base.metadata.sorted_tables}
    assert schema_differences(blank_database) == []


def test_upgrade_then_downgrade_to_base_then_upgrade_again(blank_database):
    """The migration can be undone completely and redone cleanly."""
    upgrade(blank_database)
    downgrade(blank_database, "base")
    assert tables(blank_database) == set()
    upgrade(blank_database)
    assert schema_differences(blank_database) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    """Every SQLite connection the app makes has WAL, enforced foreign keys and a busy wait."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_sqlite_really_enforces_foreign_keys(tmp_path):
    """A row pointing at a missing user is refused, not silently stored."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.sqlite3'}")
    try:
        upgrade(engine)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text("INSERT INTO user_roles (user_id, role) VALUES (:user_id, 'clinician')"),
                {"user_id": 424242},
            )
    finally:
        engine.dispose()


def _two_clinicians_and_a_completion(engine: Engine) -> None:
    """History as an 0002 database holds it: Module 1 and 2, two clinicians, one completion."""
    now = "2026-01-05 10:00:00"
    with engine.begin() as conn:
        for item_id, code, prerequisite in (
            (1, "M1", None),
            (2, "M2", '{"any": [{"completed": "M1"}, {"equivalent": "M1"}]}'),
        ):
            conn.execute(
                text(
                    "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
                    " format, position, prerequisite, recommended_note, equivalent_label,"
                    " certificate_design, active, created_at, updated_at, ce_hours) VALUES"
                    " (:id, :code, 'core_module', :code, '', '', '', :id, :rule, '', '',"
                    " 'module', :yes, :now, :now, 6)"
                ),
                {"id": item_id, "code": code, "rule": prerequisite, "yes": True, "now": now},
            )
        for user_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                    " pre_licensed, notify_optional, created_at) VALUES"
                    " (:id, :email, :name, '', :token, :yes, :no, :yes, :now)"
                ),
                {
                    "id": user_id,
                    "email": f"p{user_id}@example.test",
                    "name": f"Person {user_id}",
                    "token": f"t{user_id}",
                    "yes": True,
                    "no": False,
                    "now": now,
                },
            )
            conn.execute(
                text("INSERT INTO user_roles (user_id, role) VALUES (:id, 'clinician')"),
                {"id": user_id},
            )
        conn.execute(
            text(
                "INSERT INTO completions (id, user_id, item_id, completed_on, source,"
                " recorded_at, note) VALUES (1, 1, 1, '2025-11-20', 'import', :now, '')"
            ),
            {"now": now},
        )


def test_migration_0003_fills_the_standings_from_history(blank_database: Engine) -> None:
    """Upgrading a database with history gives every clinician the rows a recomputation gives."""
    from sqlalchemy.orm import Session

    from lms.progress import standings

    engine = blank_database
    upgrade(engine, "0002")
    _two_clinicians_and_a_completion(engine)
    upgrade(engine, "head")
    with Session(engine) as session:
        states = dict(
            session.execute(text("SELECT user_id || '-' || item_id, state FROM standings")).all()
        )
        assert states == {
            "1-1": "completed",
            "1-2": "available",
            "2-1": "available",
            "2-2": "locked",
        }
        modules = dict(
            session.execute(text("SELECT user_id, modules_done FROM progress_summaries")).all()
        )
        assert modules == {1: 1, 2: 0}
        assert standings.check(session).differences == []
    downgrade(engine, "0002")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM cache_versions")).scalar_one() == 0
        assert "standings" not in inspect(conn).get_table_names()


def test_standings_wait_for_a_run_that_reaches_head(blank_database: Engine) -> None:
    """A partial upgrade leaves the recomputation to the run that reaches head, whose schema
    is the one the rule code writes."""
    engine = blank_database
    upgrade(engine, "0002")
    _two_clinicians_and_a_completion(engine)
    upgrade(engine, "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM standings")).scalar_one() == 0
    upgrade(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM standings")).scalar_one() == 4


def test_migration_0009_sets_out_what_locked_items_miss(blank_database: Engine) -> None:
    """Rows written before the outline existed get it: the locked item's alternatives as a
    list, nothing for the others, and the rows equal a recomputation."""
    from sqlalchemy.orm import Session

    from lms.progress import standings

    engine = blank_database
    upgrade(engine, "0002")
    _two_clinicians_and_a_completion(engine)
    upgrade(engine, "head")
    downgrade(engine, "0008")  # rows as 0008 kept them: explanations without outlines
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM standings")).scalar_one() == 4
    upgrade(engine, "head")
    with Session(engine) as session:
        rows = {
            f"{user_id}-{item_id}": outline
            for user_id, item_id, outline in session.execute(
                text("SELECT user_id, item_id, outline FROM standings")
            )
        }
        locked = rows.pop("2-2")
        if isinstance(locked, str):  # SQLite's JSON comes back as text through text()
            locked = json.loads(locked)
        assert locked == {
            "text": "Do one of these:",
            "parts": [
                {"text": "Complete M1"},
                {"text": "Have an equivalent training to M1 approved"},
            ],
        }
        assert set(rows.values()) == {None}
        assert standings.check(session).differences == []


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's batch table copies")
def test_a_downgrade_keeps_the_links_between_rows_of_a_rebuilt_table(
    app, session, engine, make_user, catalog
):
    """Batch mode copies and drops an SQLite table: with foreign keys on, the drop would null
    every link to it (a reissued certificate's successor) and the downgrade then fails."""
    from lms.certificates.models import Certificate
    from lms.certificates.services import reissue_certificate
    from lms.db import db
    from tests.certificates_support import certificates_for, issued

    completion = issued(session, make_user().id)
    first = certificates_for(session, completion.id)[0]
    successor = reissue_certificate(session, first.id, actor_id=None)
    db.commit()
    session.close()
    downgrade(engine, "0003")  # 0004's downgrade rebuilds the certificates table
    with engine.connect() as conn:
        link = conn.execute(
            text("SELECT superseded_by_id FROM certificates WHERE id = :id"), {"id": first.id}
        ).scalar_one()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on afterwards
    assert link == successor.id
    upgrade(engine)
    assert Certificate.__tablename__ in inspect(engine).get_table_names()


def _history_at_0005(conn) -> None:
    """A retreat with a two-day session, three applications and one screening, as 0005 kept
    them: one clinician accepted, one waitlisted, one still in medical review."""
    now = "2026-01-05 10:00:00"
    conn.execute(
        text(
            "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
            " format, position, recommended_note, equivalent_label, certificate_design,"
            " active, created_at, updated_at) VALUES (7, 'RETREAT-L1', 'retreat', 'Level 1',"
            " '', '', '', 1, '', '', 'retreat', :yes, :now, :now)"
        ),
        {"yes": True, "now": now},
    )
    for user_id in (1, 2, 3):
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                " pre_licensed, notify_optional, created_at) VALUES"
                " (:id, :email, :name, '', :token, :yes, :no, :yes, :now)"
            ),
            {
                "id": user_id,
                "email": f"p{user_id}@example.test",
                "name": f"Person {user_id}",
                "token": f"t{user_id}",
                "yes": True,
                "no": False,
                "now": now,
            },
        )
        conn.execute(
            text("INSERT INTO user_roles (user_id, role) VALUES (:id, 'clinician')"),
            {"id": user_id},
        )
    conn.execute(
        text(
            "INSERT INTO retreat_sessions (id, item_id, starts_on, ends_on, location, capacity,"
            " application_deadline, active, created_at) VALUES"
            " (40, 7, '2027-04-14', '2027-04-15', 'Portland, OR', 1, '2027-03-03', :yes, :now),"
            " (41, 7, '2027-09-22', '2027-09-22', 'Ojai, CA', 5, NULL, :no, :now)"
        ),
        {"yes": True, "no": False, "now": now},
    )
    for app_id, user_id, status in (
        (90, 1, "accepted"),
        (91, 2, "waitlisted"),
        (92, 3, "medical_review"),
    ):
        conn.execute(
            text(
                "INSERT INTO applications (id, user_id, session_id, status, low_risk, applied_at)"
                " VALUES (:id, :user, 40, :status, :no, :now)"
            ),
            {"id": app_id, "user": user_id, "status": status, "no": False, "now": now},
        )
    conn.execute(
        text(
            "INSERT INTO screenings (application_id, answers_encrypted, any_yes, created_at)"
            " VALUES (92, :answers, :yes, :now)"
        ),
        {"answers": b"sealed", "yes": True, "now": now},
    )


def test_migration_0006_makes_sessions_offerings_and_applications_enrolments(
    blank_database: Engine,
) -> None:
    """Every session becomes an offering with a row per day, every application an enrolment
    with its id, status ("accepted" reads "enrolled") and screening; the standings say the
    same; new rows continue after the copied ids; the downgrade carries them all back."""
    engine = blank_database
    upgrade(engine, "0005")
    with engine.begin() as conn:
        _history_at_0005(conn)
    upgrade(engine, "head")
    with engine.begin() as conn:
        offerings = conn.execute(
            text(
                "SELECT id, status, format, starts_on, ends_on, location, capacity,"
                " enrolment_deadline FROM offerings ORDER BY id"
            )
        ).all()
        assert [(o.id, o.status, o.format, o.location, o.capacity) for o in offerings] == [
            (40, "scheduled", "in_person", "Portland, OR", 1),
            (41, "cancelled", "in_person", "Ojai, CA", 5),
        ]
        assert str(offerings[0].enrolment_deadline) == "2027-03-03"
        days = conn.execute(
            text("SELECT offering_id, held_on FROM offering_days ORDER BY offering_id, held_on")
        ).all()
        assert [(d.offering_id, str(d.held_on)) for d in days] == [
            (40, "2027-04-14"),
            (40, "2027-04-15"),
            (41, "2027-09-22"),
        ]
        enrolments = conn.execute(
            text("SELECT id, user_id, offering_id, status, source FROM enrolments ORDER BY id")
        ).all()
        assert [tuple(e) for e in enrolments] == [
            (90, 1, 40, "enrolled", "self"),
            (91, 2, 40, "waitlisted", "self"),
            (92, 3, 40, "medical_review", "self"),
        ]
        screening = conn.execute(text("SELECT enrolment_id, answers_encrypted FROM screenings"))
        assert [(s.enrolment_id, bytes(s.answers_encrypted)) for s in screening] == [
            (92, b"sealed")
        ]
        statuses = dict(
            conn.execute(
                text("SELECT user_id, application_status FROM standings WHERE item_id = 7")
            ).all()
        )
        assert statuses == {1: "enrolled", 2: "waitlisted", 3: "medical_review"}
        conn.execute(
            text(
                "INSERT INTO offerings (item_id, status, format, starts_on, ends_on, location,"
                " join_url, capacity, created_at, updated_at, calendar_sequence) VALUES (7,"
                " 'scheduled', 'in_person', '2028-01-10', '2028-01-10', 'Bend, OR', '', 4,"
                " :now, :now, 0)"
            ),
            {"now": "2026-01-06 10:00:00"},
        )
        assert conn.execute(text("SELECT MAX(id) FROM offerings")).scalar_one() == 42
    assert schema_differences(engine) == []
    downgrade(engine, "0005")
    with engine.connect() as conn:
        back = conn.execute(
            text("SELECT id, session_id, status FROM applications ORDER BY id")
        ).all()
        assert [tuple(a) for a in back] == [
            (90, 40, "accepted"),
            (91, 40, "waitlisted"),
            (92, 40, "medical_review"),
        ]
        sessions = conn.execute(text("SELECT id, active FROM retreat_sessions ORDER BY id")).all()
        assert [(s.id, bool(s.active)) for s in sessions] == [(40, True), (41, False), (42, True)]
        assert conn.execute(text("SELECT application_id FROM screenings")).scalar_one() == 92


def test_migration_0008_gives_items_no_evaluation_and_undoes_cleanly(blank_database: Engine):
    """Existing items get no objectives and no required evaluation; the evaluation tables take
    submissions and anonymous responses; the downgrade removes them and keeps the items."""
    engine = blank_database
    upgrade(engine, "0007")
    now = "2026-01-05 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
                " format, position, recommended_note, equivalent_label, certificate_design,"
                " active, created_at, updated_at, ce_hours) VALUES (3, 'M2', 'core_module',"
                " 'Module 2', '', '', '', 1, '', '', 'module', :yes, :now, :now, 8)"
            ),
            {"yes": True, "now": now},
        )
    upgrade(engine, "head")
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT objectives, evaluation_required FROM catalog_items WHERE id = 3")
        ).one()
        objectives = (
            json.loads(row.objectives) if isinstance(row.objectives, str) else row.objectives
        )
        assert objectives == [] and not row.evaluation_required
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                " pre_licensed, notify_optional, created_at) VALUES"
                " (1, 'p1@example.test', 'P', '', 't1', :yes, :no, :yes, :now)"
            ),
            {"yes": True, "no": False, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO offerings (id, item_id, status, format, starts_on, ends_on,"
                " location, join_url, capacity, created_at, updated_at, calendar_sequence)"
                " VALUES (5, 3, 'closed', 'live_online', '2026-01-02', '2026-01-02', '', '',"
                " 20, :now, :now, 0)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO evaluation_submissions (user_id, offering_id, submitted_at)"
                " VALUES (1, 5, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO evaluation_responses (id, offering_id, item_id, answers)"
                " VALUES ('a1b2', 5, 3, '[]')"
            )
        )
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO evaluation_submissions (user_id, offering_id, submitted_at)"
                    " VALUES (1, 5, :now)"
                ),
                {"now": now},
            )
    downgrade(engine, "0007")
    assert not {"evaluation_submissions", "evaluation_responses", "evaluation_reminders"} & tables(
        engine
    )
    columns = {c["name"] for c in inspect(engine).get_columns("catalog_items")}
    assert "objectives" not in columns and "evaluation_required" not in columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT code FROM catalog_items")).scalars().all() == ["M2"]
    upgrade(engine, "head")
    assert schema_differences(engine) == []


def test_migration_0011_counts_every_change_to_the_catalogue_and_undoes_cleanly(
    blank_database: Engine,
) -> None:
    """Each insert, update and delete on catalog_items, however written, adds to the version
    in its own transaction (a rolled-back change adds nothing); the downgrade removes the
    triggers with the table, and the catalogue can still be written."""
    engine = blank_database
    upgrade(engine, "0011")
    version = text("SELECT version FROM catalogue_version")
    item = (
        "INSERT INTO catalog_items (id, code, kind, title, short_title, description, format,"
        " position, recommended_note, equivalent_label, certificate_design, active,"
        " created_at, updated_at, ce_hours, objectives, evaluation_required) VALUES (7, 'X', "
        "'core_module', 'X', '', '', '', 1, '', '', 'module', :yes, :now, :now, 8, '[]', :no)"
    )
    values = {"yes": True, "no": False, "now": "2026-01-05 10:00:00"}
    with engine.begin() as conn:
        start = conn.execute(version).scalar_one()
        conn.execute(text(item), values)
        assert conn.execute(version).scalar_one() == start + 1
        conn.execute(text("UPDATE catalog_items SET title = 'Y' WHERE id = 7"))
        conn.execute(text("UPDATE catalog_items SET title = 'Z' WHERE id = 999"))  # no row
        after = conn.execute(version).scalar_one()
        assert after > start + 1
    with engine.connect() as conn:
        conn.execute(text("DELETE FROM catalog_items WHERE id = 7"))
        conn.rollback()
        assert conn.execute(version).scalar_one() == after
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM catalog_items WHERE id = 7"))
        assert conn.execute(version).scalar_one() > after
    downgrade(engine, "0010")
    assert "catalogue_version" not in tables(engine)
    with engine.begin() as conn:
        conn.execute(text(item), values)  # no trigger left to find the table missing


def test_migration_0012_rewrites_stored_addresses_to_their_normal_form(
    blank_database: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """An address stored with a zero-width or full-width character becomes the one that
    lookups and limits use; one whose normal form another account holds is left alone."""
    engine = blank_database
    upgrade(engine, "0011")
    stored = {
        1: "\u200b\uff56\uff49\uff43tim@example.test",  # zero-width space, full-width "vic"
        2: "plain@example.test",
        3: "twin@example.test",
        4: "\uff54\uff57\uff49\uff4e@example.test",  # full-width "twin"
    }
    with engine.begin() as conn:
        for user_id, email in stored.items():
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                    " pre_licensed, notify_optional, created_at) VALUES"
                    " (:id, :email, 'P', '', :token, :yes, :no, :yes, '2026-01-05 10:00:00')"
                ),
                {"id": user_id, "email": email, "token": f"t{user_id}", "yes": True, "no": False},
            )
    upgrade(engine, "head")
    with engine.connect() as conn:
        emails = dict(conn.execute(text("SELECT id, email FROM users")).all())
    assert emails == {
        1: "victim@example.test",
        2: "plain@example.test",
        3: "twin@example.test",
        4: stored[4],
    }
    assert "users.id 4" in caplog.text


def test_migration_0014_starts_every_offering_at_sequence_0_and_undoes_cleanly(
    blank_database: Engine,
) -> None:
    """Offerings already scheduled get SEQUENCE 0 (the files served so far carried none, which
    calendars read as 0) and notices an empty topic; the downgrade drops both."""
    engine = blank_database
    upgrade(engine, "0013")
    now = "2026-01-05 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
                " format, position, prerequisite, recommended_note, equivalent_label,"
                " certificate_design, active, created_at, updated_at, ce_hours, objectives,"
                " evaluation_required) VALUES (3, 'M2', 'core_module', 'M2', '', '', '', 3,"
                " NULL, '', '', 'module', :yes, :now, :now, 6, '[]', :no)"
            ),
            {"yes": True, "no": False, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                " pre_licensed, notify_optional, created_at) VALUES"
                " (1, 'p1@example.test', 'P', '', 't1', :yes, :no, :yes, :now)"
            ),
            {"yes": True, "no": False, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO offerings (id, item_id, status, format, starts_on, ends_on,"
                " location, join_url, capacity, created_at, updated_at) VALUES (5, 3,"
                " 'scheduled', 'live_online', '2027-01-02', '2027-01-02', '', '', 20, :now,"
                " :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, kind, message, link, created_at)"
                " VALUES (1, 'enrolment_enrolled', 'You are enrolled.', '/offerings/', :now)"
            ),
            {"now": now},
        )
    upgrade(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT calendar_sequence FROM offerings")).scalar_one() == 0
        assert conn.execute(text("SELECT topic FROM notifications")).scalar_one() == ""
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE offerings SET calendar_sequence = -1"))
    downgrade(engine, "0013")
    assert "calendar_sequence" not in {c["name"] for c in inspect(engine).get_columns("offerings")}
    assert "topic" not in {c["name"] for c in inspect(engine).get_columns("notifications")}
    upgrade(engine, "head")
    assert schema_differences(engine) == []


def test_migration_0016_gives_items_no_activity_id_keeps_the_catalogue_triggers_and_undoes(
    blank_database: Engine,
) -> None:
    """Existing items get activity ID "" and the triggers that count catalogue changes still
    fire; programme images are stored by digest; the downgrade drops both and keeps items."""
    engine = blank_database
    upgrade(engine, "0015")
    now = "2026-01-05 10:00:00"
    insert_item = text(
        "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
        " format, position, prerequisite, recommended_note, equivalent_label,"
        " certificate_design, active, created_at, updated_at, ce_hours, objectives,"
        " evaluation_required) VALUES (:id, :code, 'core_module', :code, '', '', '', 3,"
        " NULL, '', '', 'module', :yes, :now, :now, 6, '[]', :no)"
    )
    with engine.begin() as conn:
        conn.execute(insert_item, {"id": 3, "code": "M2", "yes": True, "no": False, "now": now})
    upgrade(engine, "0016")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT activity_id FROM catalog_items")).scalar_one() == ""
        version = conn.execute(text("SELECT version FROM catalogue_version")).scalar_one()
        conn.execute(insert_item, {"id": 4, "code": "M3", "yes": True, "no": False, "now": now})
        assert conn.execute(text("SELECT version FROM catalogue_version")).scalar_one() > version
        conn.execute(
            text(
                "INSERT INTO programme_images (digest, media_type, data, created_at)"
                " VALUES (:digest, 'image/png', :data, :now)"
            ),
            {"digest": "a" * 64, "data": b"\x89PNG", "now": now},
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO programme_images (digest, media_type, data, created_at)"
                " VALUES (:digest, 'image/png', :data, :now)"
            ),
            {"digest": "a" * 64, "data": b"\x89PNG", "now": now},
        )
    downgrade(engine, "0015")
    assert "activity_id" not in {c["name"] for c in inspect(engine).get_columns("catalog_items")}
    assert "programme_images" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM catalog_items")).scalar_one() == 2


def test_migration_0018_writes_the_certificate_of_training_and_undoes_cleanly(
    blank_database: Engine,
) -> None:
    """Version 1 of the Certificate of Training's requirement is in every new database; the
    downgrade removes the credential's tables and nothing else."""
    engine = blank_database
    upgrade(engine, "0018")
    with engine.begin() as conn:
        credential = conn.execute(text("SELECT id, code, title FROM training_credentials")).one()
        version = conn.execute(
            text("SELECT credential_id, number, rule FROM training_requirement_versions")
        ).one()
    rule = json.loads(version.rule) if isinstance(version.rule, str) else version.rule
    assert (credential.code, credential.title) == ("CERT-TRAINING", "Certificate of Training")
    assert (version.credential_id, version.number) == (credential.id, 1)
    assert {"logged": {"kind": "group_consultation", "count": 12, "hours": 24}} in rule["all"]
    before = tables(engine)
    downgrade(engine, "0017")
    assert before - tables(engine) == {
        "training_credentials",
        "training_requirement_versions",
        "training_candidates",
        "training_consultants",
        "training_consultations",
    }
    upgrade(engine, "head")
    assert schema_differences(engine) == []


def test_migration_0026_frees_the_places_closed_and_cancelled_sessions_did_not_settle(
    blank_database: Engine,
) -> None:
    """Rows kept under the old rule (a waitlist place in a session closed since, a place in a
    cancelled one, read as where the person stands) are recomputed by the upgrade; a place
    the closing settled still counts."""
    from datetime import date

    from sqlalchemy.orm import Session

    from lms.catalog.models import CatalogItem, ItemKind
    from lms.offerings.models import Enrolment, EnrolmentStatus, Offering, OfferingStatus
    from lms.progress import standings

    engine = blank_database
    upgrade(engine, "0002")
    _two_clinicians_and_a_completion(engine)
    upgrade(engine, "head")
    with Session(engine) as session:
        # Given its id, as the history's items were (PostgreSQL's sequence never saw them).
        retreat = CatalogItem(id=3, code="R1", kind=ItemKind.RETREAT, title="Retreat", position=3)
        session.add(retreat)
        session.flush()
        for n, (user_id, offering_status, status) in enumerate(
            (
                (1, OfferingStatus.CLOSED, EnrolmentStatus.ABSENT),
                (2, OfferingStatus.CLOSED, EnrolmentStatus.WAITLISTED),
                (2, OfferingStatus.CANCELLED, EnrolmentStatus.ENROLLED),
            )
        ):
            offering = Offering(
                item_id=retreat.id,
                status=offering_status,
                starts_on=date(2026, 3, 3 + n),
                ends_on=date(2026, 3, 7 + n),
                location="Big Sur, CA",
                capacity=1,
            )
            session.add(offering)
            session.flush()
            session.add(Enrolment(user_id=user_id, offering_id=offering.id, status=status))
        session.flush()
        standings.refresh(session)
        # As 0025's rule kept them: every application not withdrawn counted, the most advanced
        # one shown (person 2's place in the cancelled session).
        session.execute(
            text(
                "UPDATE standings SET applied = :yes, application_status = 'enrolled'"
                " WHERE user_id = 2 AND item_id = :item"
            ),
            {"yes": True, "item": retreat.id},
        )
        session.commit()
        retreat_id = retreat.id
    downgrade(engine, "0025")
    upgrade(engine, "head")
    with Session(engine) as session:
        rows = {
            user_id: (bool(applied), status)
            for user_id, applied, status in session.execute(
                text(
                    "SELECT user_id, applied, application_status FROM standings"
                    " WHERE item_id = :item"
                ),
                {"item": retreat_id},
            )
        }
        assert rows == {1: (True, None), 2: (False, None)}
        assert standings.check(session).differences == []

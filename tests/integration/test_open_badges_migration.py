"""Migration 0017: certificates issued before it get their status list places and bits."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from lms.db import make_engine
from lms.migrate import downgrade, upgrade

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "LMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BEFORE = "0016"  # the revision 0017 follows


@pytest.fixture(params=["sqlite"] + (["postgresql"] if BACKEND == "postgresql" else []))
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables (a fresh file or a fresh schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'badges.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"lms_badges_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL)
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _certificate(conn, cid: int, *, rendered: bool, revoked: bool) -> None:  # noqa: ANN001
    """A person, their completion and its certificate: issued (rendered) or pending, revoked
    or not."""
    now = "2026-01-05 10:00:00"
    conn.execute(
        text(
            "INSERT INTO users (id, email, name, credentials, auth_token, active,"
            " pre_licensed, notify_optional, created_at) VALUES"
            " (:id, :email, 'P', '', :token, :yes, :no, :yes, :now)"
        ),
        {
            "id": cid,
            "email": f"p{cid}@example.test",
            "token": f"t{cid}",
            "yes": True,
            "no": False,
            "now": now,
        },
    )
    conn.execute(
        text(
            "INSERT INTO completions (id, user_id, item_id, completed_on, source, recorded_at,"
            " note) VALUES (:id, :id, 3, '2026-01-02', 'instructor', :now, '')"
        ),
        {"id": cid, "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO certificates (id, serial, code, user_id, item_id, completion_id, design,"
            " content, sha256, issued_at, rendered_at, revoked_at) VALUES (:id, :serial, :code,"
            " :id, 3, :id, 'module', '{}', '', :now, :rendered, :revoked)"
        ),
        {
            "id": cid,
            "serial": f"KAP-2026-{cid:05d}",
            "code": f"CODE{cid:016d}",
            "now": now,
            "rendered": now if rendered else None,
            "revoked": "2026-01-06 09:00:00" if revoked else None,
        },
    )


def test_migration_0017_places_issued_certificates_in_order_and_sets_revoked_bits(
    blank_database: Engine,
) -> None:
    """Issued certificates get indexes 0, 1, 2... in issue order; a revoked one its bit; one
    still waiting for its PDF none (it gets one when issued); the index is unique; the
    downgrade drops the table and an upgrade makes it again."""
    engine = blank_database
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
                " format, position, prerequisite, recommended_note, equivalent_label,"
                " certificate_design, active, created_at, updated_at, ce_hours, objectives,"
                " evaluation_required) VALUES (3, 'M1', 'core_module', 'M1', '', '', '', 3,"
                " NULL, '', '', 'module', :yes, :now, :now, 6, '[]', :no)"
            ),
            {"yes": True, "no": False, "now": "2026-01-05 10:00:00"},
        )
        _certificate(conn, 10, rendered=True, revoked=False)
        _certificate(conn, 11, rendered=False, revoked=False)  # still being prepared
        _certificate(conn, 12, rendered=True, revoked=True)
        _certificate(conn, 13, rendered=False, revoked=True)  # revoked before its PDF
    upgrade(engine, "0017")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT certificate_id, status_index, revoked_at IS NOT NULL"
                " FROM credential_statuses ORDER BY status_index"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(10, 0, False), (12, 1, True), (13, 2, True)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text("INSERT INTO credential_statuses (certificate_id, status_index) VALUES (11, 1)")
        )
    downgrade(engine, BEFORE)
    assert "credential_statuses" not in inspect(engine).get_table_names()
    upgrade(engine, "0017")
    assert "credential_statuses" in inspect(engine).get_table_names()

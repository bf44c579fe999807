"""Migration 0017: certificates issued before it get their status list places and bits."""

from __future__ import annotations

import pytest
from migration_support import add_certificate, add_module_one
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from lms.migrate import downgrade, upgrade

BEFORE = "0016"  # the revision 0017 follows


def test_migration_0017_places_issued_certificates_in_order_and_sets_revoked_bits(
    blank_database: Engine,
) -> None:
    """Issued certificates get indexes 0, 1, 2... in issue order; a revoked one its bit; one
    still waiting for its PDF none (it gets one when issued); the index is unique; the
    downgrade drops the table and an upgrade makes it again."""
    engine = blank_database
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        add_module_one(conn)
        add_certificate(conn, 10, rendered=True, revoked=False)
        add_certificate(conn, 11, rendered=False, revoked=False)  # still being prepared
        add_certificate(conn, 12, rendered=True, revoked=True)
        add_certificate(conn, 13, rendered=False, revoked=True)  # revoked before its PDF
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

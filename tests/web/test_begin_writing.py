"""begin_writing splits the unit of work only where it buys something: SQLite's write lock."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from lms.db import db, reads_first


def test_the_read_transaction_ends_on_sqlite_and_goes_on_elsewhere(app: Flask) -> None:
    seen: dict[str, object] = {}

    @app.post("/test/begin-writing")
    @reads_first
    def view() -> str:
        session = db.session
        session.execute(text("SELECT 1")).scalar_one()
        before = session.get_transaction()
        db.begin_writing()
        seen["same transaction"] = session.get_transaction() is before and before is not None
        seen["dialect"] = session.get_bind().dialect.name
        return "ok"

    assert app.test_client().post("/test/begin-writing").status_code == 200
    assert seen["same transaction"] is (seen["dialect"] != "sqlite")

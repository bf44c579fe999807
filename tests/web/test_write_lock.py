"""A `reads_first` view holds SQLite's write lock for its write alone, not for its reads."""

from __future__ import annotations

import os
import sqlite3

import pytest
from flask import Flask
from sqlalchemy import text

from lms.auth.models import Role, User
from lms.db import READS_FIRST, db, reads_first

pytestmark = pytest.mark.skipif(
    os.environ.get("LMS_TEST_BACKEND", "sqlite") != "sqlite",
    reason="SQLite only: PostgreSQL has no database-wide write lock",
)


def _path(app: Flask) -> str:
    """The SQLite file the app uses."""
    return app.extensions["lms"].db.engine.url.database


def _another_writer_gets_in(path: str) -> bool:
    """Whether a second connection can take the write lock at once (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


def test_the_read_phase_takes_no_write_lock_and_begin_writing_takes_it(app: Flask) -> None:
    seen: dict[str, bool] = {}

    @app.post("/test/reads-first")
    @reads_first
    def reads_then_writes() -> str:
        db.session.execute(text("SELECT count(*) FROM users")).scalar_one()
        seen["while reading"] = _another_writer_gets_in(_path(app))
        db.begin_writing()
        db.session.execute(text("SELECT count(*) FROM users")).scalar_one()
        seen["while writing"] = _another_writer_gets_in(_path(app))
        return "ok"

    @app.post("/test/plain-post")
    def plain_post() -> str:
        db.session.execute(text("SELECT count(*) FROM users")).scalar_one()
        seen["plain post"] = _another_writer_gets_in(_path(app))
        return "ok"

    client = app.test_client()
    assert client.post("/test/reads-first").status_code == 200
    assert client.post("/test/plain-post").status_code == 200
    assert seen == {"while reading": True, "while writing": False, "plain post": False}


def test_begin_writing_refuses_changes_made_while_reading(app: Flask, make_user, caplog) -> None:
    person = make_user(Role.CLINICIAN)

    @app.post("/test/writes-too-early")
    @reads_first
    def writes_too_early() -> str:
        db.session.get(User, person.id).name = "Changed while reading"
        db.begin_writing()
        return "not reached"

    assert app.test_client().post("/test/writes-too-early").status_code == 500
    assert "read phase" in caplog.text
    assert _another_writer_gets_in(_path(app))  # the failed request left no lock behind
    with sqlite3.connect(_path(app)) as raw:  # and nothing was committed
        assert raw.execute("SELECT name FROM users WHERE id = ?", (person.id,)).fetchone() == (
            person.name,
        )


def test_the_mark_views_read_first(app: Flask) -> None:
    """The writes every instructor makes all day hold the lock for their write alone."""
    for endpoint in ("progress.mark_one", "progress.mark_cohort"):
        assert getattr(app.view_functions[endpoint], READS_FIRST, False), endpoint


def test_a_reading_block_outside_requests_takes_no_write_lock(app: Flask, make_user) -> None:
    """A job's read (db.reading) leaves writers free; an ordinary command's transaction does not."""
    make_user(Role.CLINICIAN)
    seen: dict[str, bool] = {}
    with app.app_context():
        with db.reading() as session:
            session.execute(text("SELECT count(*) FROM users")).scalar_one()
            seen["reading"] = _another_writer_gets_in(_path(app))
        assert not db.session.in_transaction()  # the block ended its read
        db.session.execute(text("SELECT count(*) FROM users")).scalar_one()
        seen["command"] = _another_writer_gets_in(_path(app))
        db.rollback()
    assert seen == {"reading": True, "command": False}


def test_a_reading_block_refuses_changes(app: Flask, make_user) -> None:
    """Writing inside a read would need the lock the block did not take: refused, rolled back."""
    person = make_user(Role.CLINICIAN)
    with app.app_context():
        with pytest.raises(RuntimeError, match="made changes"), db.reading() as session:
            session.get(User, person.id).name = "Changed while reading"
        assert _another_writer_gets_in(_path(app))
        assert db.session.get(User, person.id).name == person.name

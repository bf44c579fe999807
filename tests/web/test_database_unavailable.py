"""A database that cannot answer within LMS_DATABASE_TIMEOUT: a prompt 503, never a hang and a 500.

The lock is held from another process (SQLite) or another connection (PostgreSQL), as an
outage or a runaway job would hold it, and both /healthz and ordinary pages must give up
within the bound and say so with 503 and Retry-After.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc

from lms.db import is_unavailable

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")
BOUND = 1.0  # LMS_DATABASE_TIMEOUT for these tests, in seconds
SLACK = 3.0  # the request's own work plus a loaded CI machine

# Holds the whole SQLite file: EXCLUSIVE locking mode keeps the lock after the first read,
# and no other connection may then read or write until it lets go.
SQLITE_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA locking_mode=EXCLUSIVE")
connection.execute("BEGIN EXCLUSIVE")
connection.execute("SELECT count(*) FROM users").fetchone()
print("locked", flush=True)
sys.stdin.read()
"""
# An ordinary writer in WAL mode: readers carry on, other writers must wait for it.
SQLITE_WRITER = SQLITE_HOLDER.replace('connection.execute("PRAGMA locking_mode=EXCLUSIVE")\n', "")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """The test app waits at most BOUND seconds for the database."""
    return {**app_config, "LMS_DATABASE_TIMEOUT": str(BOUND)}


@contextmanager
def database_locked(app, *, writes_to: int | None = None) -> Iterator[None]:
    """Hold a lock that keeps the app from the `users` table, or only from writing to one row.

    With `writes_to` (a user id) reads carry on: SQLite holds its one write lock, PostgreSQL
    that row's lock.
    """
    url = app.config["LMS_DATABASE_URL"]
    app.extensions["lms"].db.engine.dispose()  # the app's pooled connections start afresh
    if BACKEND == "sqlite":
        script = SQLITE_HOLDER if writes_to is None else SQLITE_WRITER
        path = url.removeprefix("sqlite:///")
        with subprocess.Popen(
            [sys.executable, "-c", script, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as holder:
            try:
                assert holder.stdout.readline().strip() == "locked"
                yield
            finally:
                holder.stdin.close()
                holder.wait(timeout=10)
        return
    other = create_engine(url)
    try:
        with other.connect() as connection:
            transaction = connection.begin()
            if writes_to is None:
                connection.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            else:
                connection.exec_driver_sql(
                    "SELECT id FROM users WHERE id = %(id)s FOR UPDATE", {"id": writes_to}
                )
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        other.dispose()


def timed(call) -> tuple[object, float]:
    """Run call(); return its result and how long it took."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def assert_prompt_503_page(response, elapsed: float) -> None:
    """The tracker's own 503 page, in time, with Retry-After and no internals."""
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:300]
    assert elapsed < BOUND + SLACK, f"took {elapsed:.1f}s"
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in body and "OperationalError" not in body
    assert "database is locked" not in body and "lock timeout" not in body


def test_health_is_503_within_the_bound_while_the_database_is_locked(app, client, make_user):
    """/healthz reads a real table, so a lock that stops every page stops it too."""
    make_user()
    with database_locked(app):
        response, elapsed = timed(lambda: client.get("/healthz"))
    assert_prompt_503_page(response, elapsed)
    assert response.get_json() == {"status": "error", "database": "unavailable"}


def test_health_is_ok_again_once_the_lock_is_released(app, client, make_user):
    """The 503 lasts only as long as the lock."""
    make_user()
    with database_locked(app):
        assert client.get("/healthz").status_code == 503
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "jobs": "ok"}


def test_a_signed_in_page_is_a_503_page_within_the_bound_while_the_database_is_locked(
    app, client, make_user, login
):
    """A clinician's dashboard gives the tracker's own 503 page, not a long hang and a 500."""
    login(client, make_user())
    with database_locked(app):
        response, elapsed = timed(lambda: client.get("/"))
    assert_prompt_503_page(response, elapsed)
    body = response.get_data(as_text=True)
    assert "Service unavailable" in body
    assert "try again in a minute" in body
    assert 'class="brand"' in body  # the tracker's page with its header, not a bare fallback
    assert client.get("/").status_code == 200  # and the person is still signed in after


def test_a_write_waiting_behind_another_writer_is_a_503_within_the_bound(
    app, client, make_user, login, session
):
    """Signing out (it rotates the account's token) behind a writer's lock answers 503 in time,
    and changes nothing: the person is still signed in."""
    user = make_user()
    login(client, user)
    session.commit()  # the session token the login made, before anyone holds a lock
    with database_locked(app, writes_to=user.id):
        assert client.get("/healthz").status_code == 200  # reads carry on
        response, elapsed = timed(lambda: client.post("/logout"))
    assert_prompt_503_page(response, elapsed)
    assert client.get("/").status_code == 200


def test_a_json_client_gets_a_json_503(app, client, make_user, login):
    """API clients get the same answer as JSON."""
    login(client, make_user())
    with database_locked(app):
        response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "Service unavailable"


def sqlite_error(message: str) -> sa_exc.OperationalError:
    """An OperationalError as SQLAlchemy raises it for an SQLite message."""
    import sqlite3

    return sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


def test_only_waits_and_outages_count_as_unavailable():
    """A lock or a missing file is an outage (503); a query bug such as a missing table is not."""
    assert is_unavailable(sqlite_error("database is locked"))
    assert is_unavailable(sqlite_error("locking protocol"))
    assert is_unavailable(sqlite_error("unable to open database file"))
    assert is_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert not is_unavailable(sqlite_error("no such table: users"))
    assert not is_unavailable(ValueError("database is locked"))


@pytest.mark.parametrize("value", ["0", "-1", "soon", "301"])
def test_a_wrong_database_timeout_stops_the_start(value):
    """LMS_DATABASE_TIMEOUT must be a sensible number of seconds."""
    from lms.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="LMS_DATABASE_TIMEOUT"):
        load_config(environ={"LMS_ENV": "development", "LMS_DATABASE_TIMEOUT": value})


def test_the_database_timeout_bounds_sqlites_busy_wait(tmp_path):
    """The setting becomes SQLite's busy timeout on every connection."""
    from lms.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'bounded.sqlite3'}", timeout=2.5)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    engine.dispose()


def _timeouts(connection) -> tuple[str, str]:
    """The session's lock and statement timeouts, in milliseconds ("0": none)."""
    settings = "SELECT setting FROM pg_settings WHERE name = '{}'"
    return (
        connection.exec_driver_sql(settings.format("lock_timeout")).scalar(),
        connection.exec_driver_sql(settings.format("statement_timeout")).scalar(),
    )


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's own timeouts")
def test_requests_are_bounded_and_commands_not_on_the_same_pooled_connection(app) -> None:
    """A request's transactions wait at most the bound; a command's on the same connection do
    not; a bound set in a transaction that rolled back is known to be gone."""
    from lms.db import db

    engine = app.extensions["lms"].db.engine
    engine.dispose()  # one at a time from an empty pool: every transaction below shares one
    bound = (str(int(BOUND * 1000)),) * 2
    seen = {}
    with app.test_request_context("/"):
        seen["request"] = _timeouts(db.session.connection())
        db.session.rollback()  # the SET is undone with the transaction ...
    with app.app_context():
        seen["command after it"] = _timeouts(db.session.connection())
        db.session.commit()
    with app.test_request_context("/"):
        seen["next request"] = _timeouts(db.session.connection())  # ... so it is made again
        db.session.commit()
        seen["a request after that"] = _timeouts(db.session.connection())
        db.session.commit()
    with app.app_context():
        seen["last command"] = _timeouts(db.session.connection())
        db.session.commit()
    assert seen == {
        "request": bound,
        "command after it": ("0", "0"),
        "next request": bound,
        "a request after that": bound,
        "last command": ("0", "0"),
    }

"""The PostgreSQL engine's cursor describes each result shape once, and describes it exactly as
psycopg does."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import text

from lms import pg_cursor
from lms.pg_cursor import DescribedOnceCursor

pytestmark = pytest.mark.skipif(
    os.environ.get("LMS_TEST_BACKEND", "sqlite") != "postgresql",
    reason="psycopg's cursor: PostgreSQL only",
)

QUERIES = [
    "SELECT 1",
    "SELECT 1 AS n, 'x'::varchar(7) AS word, 2.50::numeric(6, 2) AS hours, now() AS at",
    "SELECT id, email, name FROM users WHERE false",  # no rows, still a description
    "SELECT",  # no column, rows
]


def test_the_engine_uses_the_cursor(engine) -> None:
    """Every connection of the app's engine makes cursors of the describe-once class."""
    with engine.connect() as conn:
        assert isinstance(conn.connection.driver_connection.cursor(), DescribedOnceCursor)


@pytest.mark.parametrize("query", QUERIES)
def test_a_description_is_the_one_psycopg_builds(engine, query) -> None:
    """Names, type codes, sizes, precision and scale are psycopg's own, read twice (the
    second time from the shapes already described)."""
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        plain = psycopg.Cursor(driver)
        plain.execute(query)
        expected = [tuple(column) for column in plain.description]
        for _ in range(2):
            cursor = driver.cursor()
            cursor.execute(query)
            assert [tuple(column) for column in cursor.description] == expected


def test_a_result_without_rows_has_no_description(engine) -> None:
    """A command (SET, an UPDATE) has no description, as the DB-API says."""
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        assert cursor.description is None  # nothing run yet
        cursor.execute("SET application_name = 'lms-test'")
        assert cursor.description is None
        cursor.execute("UPDATE users SET name = name WHERE false")
        assert cursor.description is None


def test_each_caller_gets_its_own_list(engine) -> None:
    """Changing the list one caller got changes nobody else's."""
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SELECT 1 AS n")
        cursor.description.clear()
        assert [column.name for column in cursor.description] == ["n"]


def test_the_kept_shapes_are_bounded(engine, monkeypatch) -> None:
    """Past SHAPES_KEPT distinct shapes the kept ones are dropped, not added to forever."""
    monkeypatch.setattr(pg_cursor, "SHAPES_KEPT", 3)
    monkeypatch.setattr(pg_cursor, "_described", {})
    with engine.connect() as conn:
        for n in range(10):
            conn.execute(text(f"SELECT 1 AS c{n}"))
            assert len(pg_cursor._described) <= 3


def test_pages_read_through_sqlalchemy_as_before(engine) -> None:
    """SQLAlchemy's results (built from the description on a statement's first run, checked
    against it after) carry the same rows and keys run after run."""
    with engine.connect() as conn:
        for _ in range(3):
            result = conn.execute(text("SELECT 1 AS one, 'two' AS two"))
            assert list(result.keys()) == ["one", "two"]
            assert result.all() == [(1, "two")]

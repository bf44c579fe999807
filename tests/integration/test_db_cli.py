"""`flask db upgrade` and `flask db downgrade`: a bad revision is one line, and migrating down
(which drops tables with their data) is asked for, and refused in production unless forced."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from lms import create_app
from lms.migrate import current_revision, head_revision

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "LMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own with no table at all (a new file, or a new PostgreSQL schema):
    these tests migrate it down and up, which the shared test schema must never see."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        return
    schema = f"lms_cli_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL)
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def app_on(app_config: dict, url: str, env: str = "testing") -> Flask:
    """The tracker app on `url`, with LMS_ENV set to `env`."""
    return create_app({**app_config, "LMS_DATABASE_URL": url, "LMS_ENV": env})


@pytest.fixture
def cli_app(app_config: dict, empty_database_url: str) -> Iterator[Flask]:
    """The app on the empty database."""
    application = app_on(app_config, empty_database_url)
    yield application
    application.extensions["lms"].db.engine.dispose()


def flask_db(app: Flask, *args: str, answer: str | None = None) -> Result:
    """`flask db ARGS`, with `answer` typed at any question (None: no input at all)."""
    return app.test_cli_runner().invoke(args=["db", *args], input=answer)


def tables(app: Flask) -> set[str]:
    """The tracker's tables in the app's database (Alembic's bookkeeping aside)."""
    engine = app.extensions["lms"].db.engine
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def revision(app: Flask) -> str | None:
    """The revision the app's database is at."""
    return current_revision(app.extensions["lms"].db.engine)


def assert_one_line_refusal(result: Result, expected: str) -> None:
    """Exit 1 and one line on stderr, `Error: ...` saying `expected`; no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and expected in line, line


@pytest.fixture
def migrated(cli_app: Flask) -> Flask:
    """The app with its database migrated to the newest revision by the command."""
    result = flask_db(cli_app, "upgrade")
    assert result.exit_code == 0, result.output
    assert revision(cli_app) == head_revision()
    return cli_app


def test_upgrade_says_the_revision_the_database_is_at(migrated) -> None:
    """The revision itself, not the word given (`db upgrade 0005` said "at 0005" at 0011)."""
    again = flask_db(migrated, "upgrade")
    assert again.exit_code == 0, again.output
    assert f"Database is at revision {head_revision()} (head)." in again.output


@pytest.mark.parametrize(
    ("args", "named"),
    [(("upgrade", "9999"), "9999"), (("downgrade", "zzz"), "zzz")],
    ids=["upgrade-9999", "downgrade-zzz"],
)
def test_an_unknown_revision_is_one_line_and_changes_nothing(migrated, args, named) -> None:
    before = tables(migrated)
    result = flask_db(migrated, *args)
    assert_one_line_refusal(result, f"no revision '{named}'")
    assert "the revisions are 0001 to" in result.stderr
    assert tables(migrated) == before and revision(migrated) == head_revision()


def test_an_unknown_revision_on_an_empty_database_creates_nothing(cli_app) -> None:
    assert_one_line_refusal(flask_db(cli_app, "upgrade", "9999"), "no revision '9999'")
    assert tables(cli_app) == set()


def test_upgrade_to_a_revision_below_the_database_is_refused(migrated) -> None:
    result = flask_db(migrated, "upgrade", "0005")
    assert_one_line_refusal(result, "0005 is below the database's revision")
    assert revision(migrated) == head_revision()


def test_downgrade_to_base_asks_first_and_no_changes_nothing(migrated) -> None:
    before = tables(migrated)
    refused = flask_db(migrated, "downgrade", "base", answer="n\n")
    assert refused.exit_code == 1
    assert "drops every table with all its data. Go ahead?" in refused.output
    assert "not confirmed: nothing was changed" in refused.stderr
    assert tables(migrated) == before and revision(migrated) == head_revision()


def test_downgrade_without_anyone_to_answer_changes_nothing(migrated) -> None:
    """Run from a script with no input (cron, CI): the question goes unanswered, so no."""
    result = flask_db(migrated, "downgrade", "base")
    assert result.exit_code == 1
    assert "add --yes" in result.stderr
    assert revision(migrated) == head_revision()


def test_downgrade_answered_yes_migrates_down_and_says_where(migrated) -> None:
    result = flask_db(migrated, "downgrade", "0010", answer="y\n")
    assert result.exit_code == 0, result.output
    assert re.search(r"undoes revisions? 0011\b", result.output), result.output
    assert "Database is at revision 0010." in result.output
    assert revision(migrated) == "0010"
    again = flask_db(migrated, "downgrade", "0010", "--yes")
    assert again.exit_code == 0 and "nothing to undo" in again.output


def test_downgrade_to_base_with_yes_empties_the_database_without_a_question(migrated) -> None:
    result = flask_db(migrated, "downgrade", "base", "--yes")
    assert result.exit_code == 0, result.output
    assert "Go ahead?" not in result.output
    assert "Database is at revision base (no tables)." in result.output
    assert tables(migrated) == set()


@pytest.mark.parametrize("answer", [None, "y\n"], ids=["with-yes", "answered-yes"])
def test_a_production_database_is_not_migrated_down_unless_forced(
    app_config, empty_database_url, migrated, answer
) -> None:
    production = app_on(app_config, empty_database_url, env="production")
    try:
        before = tables(production)
        args = ("downgrade", "base") + (("--yes",) if answer is None else ())
        refused = flask_db(production, *args, answer=answer)
        assert_one_line_refusal(refused, "LMS_ENV is production")
        assert "--force" in refused.stderr and "Go ahead?" not in refused.output
        assert tables(production) == before and revision(production) == head_revision()

        forced = flask_db(production, "downgrade", "base", "--force", "--yes")
        assert forced.exit_code == 0, forced.output
        assert tables(production) == set()
    finally:
        production.extensions["lms"].db.engine.dispose()

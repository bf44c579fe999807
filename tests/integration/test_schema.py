"""The schema: Alembic migrations and the models agree, migrate both ways, and SQLite is tuned."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from lms.db import Base, make_engine
from lms.migrate import downgrade, upgrade
from lms.models import import_all_models

import_all_models()

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "LMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# SQLite always; the configured backend too when it is another one.
BACKENDS = ["sqlite"] + (["postgresql"] if BACKEND == "postgresql" else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all (a fresh file or a fresh schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"lms_schema_{uuid.uuid4().hex[:12]}"
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


def test_migrations_and_models_agree(empty_database):
    """Upgrading to head yields exactly the models' schema: tables, columns, types, indexes."""
    upgrade(empty_database)
    assert tables(empty_database) == {t.name for t in Base.metadata.sorted_tables}
    assert schema_differences(empty_database) == []


def test_upgrade_then_downgrade_to_base_then_upgrade_again(empty_database):
    """The migration can be undone completely and redone cleanly."""
    upgrade(empty_database)
    downgrade(empty_database, "base")
    assert tables(empty_database) == set()
    upgrade(empty_database)
    assert schema_differences(empty_database) == []


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

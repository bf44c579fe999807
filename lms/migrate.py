"""Run Alembic from code: upgrade a database to the newest schema, or compare it to the models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from lms.config import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
# Set (in the Alembic config's attributes) by a migration after which the standings must be
# recomputed; migrations/env.py recomputes them once, after the run, when it reached head.
REFILL_STANDINGS = "lms.refill_standings"


def alembic_config(url: str) -> Config:
    """An Alembic config pointed at our migrations and the given database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the engine's database to `revision`."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the engine's database down to `revision`."""
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command in one transaction, with SQLite's foreign keys off meanwhile.

    Batch mode rebuilds an SQLite table by copying it and dropping the original; with
    foreign keys on, that drop would fire ON DELETE actions on every row that points at the
    table (a reissued certificate's link to its successor, for one). SQLite ignores the
    pragma inside a transaction, so it is set on the bare connection first.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config, revision)
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def instance_dir_for(url: str) -> Path | None:
    """The folder an SQLite database file lives in (to create it), or None for servers."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///")).parent
    return None


def request_standings_refill() -> None:
    """From inside a migration: recompute every standing once this run reaches head.

    The standings are written by the tracker's own rule code, which writes the columns its
    models have now; run in the middle of a chain of migrations, it would write columns a
    later migration has not added yet. So a migration only asks, and the recomputation runs
    after the last one, when the schema is the one the code expects.
    """
    from alembic import context

    context.config.attributes[REFILL_STANDINGS] = True

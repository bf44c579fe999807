"""Run Alembic from code: upgrade a database to the newest schema, or compare it to the models."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RangeNotAncestorError, ResolutionError, RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from lms.config import PROJECT_ROOT
from lms.errors import InvalidInput

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
# Set (in the Alembic config's attributes) by a migration after which the standings must be
# recomputed; migrations/env.py recomputes them once, after the run, when it reached head.
REFILL_STANDINGS = "lms.refill_standings"
REFILL_TRAINING_STANDINGS = "lms.refill_training_standings"


def alembic_config(url: str) -> Config:
    """An Alembic config pointed at our migrations and the given database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the engine's database to `revision` (InvalidInput when it names none)."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the engine's database down to `revision` (InvalidInput when it names none)."""
    _run(engine, command.downgrade, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for one never migrated (or migrated to base)."""
    # Only a look: Alembic's notes on the dialect it would migrate with (at INFO) are not news.
    log = logging.getLogger("alembic.runtime.migration")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        log.setLevel(level)


def head_revision() -> str:
    """The newest revision."""
    return _scripts().get_current_head() or "base"


def revisions_applied(engine: Engine, revision: str) -> list[str]:
    """The revisions migrating up to `revision` would apply, newest first ([] when the
    database is there already); InvalidInput when `revision` names no revision, or one below
    the database's."""
    current = current_revision(engine) or "base"
    return _between(
        revision,
        current,
        refused=f"{revision} is below the database's revision "
        f"{current}: `db upgrade` only migrates up (`db downgrade` goes down)",
    )


def revisions_undone(engine: Engine, revision: str) -> list[str]:
    """The revisions migrating down to `revision` would undo, newest first ([] when the
    database is there already); InvalidInput when `revision` names no revision, or one above
    the database's."""
    current = current_revision(engine) or "base"
    return _between(
        current,
        revision,
        refused=f"{revision} is above the database's revision "
        f"{current}: `db downgrade` only migrates down (`db upgrade` goes up)",
    )


def _between(upper: str, lower: str, *, refused: str) -> list[str]:
    """The revisions above `lower` up to `upper`, newest first, or InvalidInput: an unknown
    revision, `refused` when `lower` is not below `upper`."""
    try:
        return [script.revision for script in _scripts().iterate_revisions(upper, lower)]
    except ResolutionError as error:
        raise _unknown(error.argument) from None
    except RangeNotAncestorError:
        raise InvalidInput(refused) from None
    except RevisionError as error:
        raise InvalidInput(str(error)) from None


def _scripts() -> ScriptDirectory:
    """The migration scripts."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def _unknown(revision: str) -> InvalidInput:
    """The one-line refusal of a revision that names none."""
    revisions = [script.revision for script in _scripts().walk_revisions()]
    return InvalidInput(
        f"no revision {revision!r}: the revisions are {revisions[-1]} to {revisions[0]}, "
        "base (no tables) and head (the newest)"
    )


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
                try:
                    step(config, revision)
                except CommandError as error:
                    # Alembic names a revision it cannot find or reach this way, before it
                    # changes anything; the transaction is rolled back all the same.
                    if isinstance(error.__cause__, ResolutionError):
                        raise _unknown(error.__cause__.argument) from None
                    raise InvalidInput(str(error)) from None
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def instance_dir_for(url: str) -> Path | None:
    """The folder an SQLite database file lives in (to create it), or None for servers."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///")).parent
    return None


def refill_if_requested(
    connection: Connection, attributes: dict, key: str, refill: Callable[[Session], None]
) -> bool:
    """After a run (inside its transaction): if a migration asked for `key` (see
    request_standings_refill) and the database is at head now, run `refill` with a session on
    the run's connection; True when it did.

    The session joins the migration's transaction: its commit commits nothing on its own. A
    partial upgrade leaves the refill to the run that reaches head.
    """
    if not attributes.pop(key, False):
        return False
    heads = set(_scripts().get_heads())
    if set(MigrationContext.configure(connection).get_current_heads()) != heads:
        return False
    session = Session(bind=connection)
    try:
        refill(session)
        session.commit()
    finally:
        session.close()
    return True


def request_standings_refill() -> None:
    """From inside a migration: recompute every standing once this run reaches head.

    The standings are written by the tracker's own rule code, which writes the columns its
    models have now; run in the middle of a chain of migrations, it would write columns a
    later migration has not added yet. So a migration only asks, and the recomputation runs
    after the last one, when the schema is the one the code expects.
    """
    from alembic import context

    context.config.attributes[REFILL_STANDINGS] = True


def request_training_standings_refill() -> None:
    """From inside a migration: judge every credential candidate again once this run reaches
    head (lms.training.standing writes the rows, for the same reason as above)."""
    from alembic import context

    context.config.attributes[REFILL_TRAINING_STANDINGS] = True

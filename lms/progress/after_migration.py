"""Recomputing the standings after a migration that asked for it (lms.migrate): the rows are
the progress read model's, so progress writes them, once the schema is at head."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lms.clock import today
from lms.config import PROJECT_ROOT
from lms.migrate import REFILL_STANDINGS
from lms.progress import standings


def refill_standings_if_requested(connection: Connection, attributes: dict) -> bool:
    """After a run (inside its transaction): recompute the standings if a migration asked
    and the database is at head now; True when it did."""
    if not attributes.pop(REFILL_STANDINGS, False):
        return False
    heads = set(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())
    if set(MigrationContext.configure(connection).get_current_heads()) != heads:
        return False  # a partial upgrade: the standings wait for the run that reaches head
    session = Session(bind=connection)
    try:
        # The programme's date, read through this connection, not the app's session (another
        # connection, which would wait on this migration's lock).
        standings.refresh(session, on=today(session))
        session.commit()  # joins the migration's transaction: commits nothing on its own
    finally:
        session.close()
    return True

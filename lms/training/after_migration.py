"""Judging every credential candidate after a migration that asked for it (lms.migrate): the
rows are the training standings, so this feature writes them, once the schema is at head."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lms.clock import today
from lms.config import PROJECT_ROOT
from lms.migrate import REFILL_TRAINING_STANDINGS


def refill_training_standings_if_requested(connection: Connection, attributes: dict) -> bool:
    """After a run (inside its transaction): judge every candidate again if a migration asked
    and the database is at head now; True when it did."""
    if not attributes.pop(REFILL_TRAINING_STANDINGS, False):
        return False
    heads = set(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())
    if set(MigrationContext.configure(connection).get_current_heads()) != heads:
        return False  # a partial upgrade: the rows wait for the run that reaches head
    from lms.training.standing import refresh

    session = Session(bind=connection)
    try:
        refresh(session, None, on=today(session))
        session.commit()  # joins the migration's transaction: commits nothing on its own
    finally:
        session.close()
    return True

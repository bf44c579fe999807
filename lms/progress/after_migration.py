"""Recomputing the standings after a migration that asked for it (lms.migrate): the rows are
the progress read model's, so progress writes them, once the schema is at head."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lms.clock import today
from lms.migrate import REFILL_STANDINGS, refill_if_requested
from lms.progress import standings


def refill_standings_if_requested(connection: Connection, attributes: dict) -> bool:
    """After a run (inside its transaction): recompute the standings if a migration asked
    and the database is at head now; True when it did."""
    return refill_if_requested(connection, attributes, REFILL_STANDINGS, _refill)


def _refill(session: Session) -> None:
    """Recompute every standing, as of the programme's date."""
    # The programme's date, read through the migration's connection, not the app's session
    # (another connection, which would wait on this migration's lock).
    standings.refresh(session, on=today(session))

"""Judging every credential candidate after a migration that asked for it (lms.migrate): the
rows are the training standings, so this feature writes them, once the schema is at head."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lms.clock import today
from lms.migrate import REFILL_TRAINING_STANDINGS, refill_if_requested


def refill_training_standings_if_requested(connection: Connection, attributes: dict) -> bool:
    """After a run (inside its transaction): judge every candidate again if a migration asked
    and the database is at head now; True when it did."""
    return refill_if_requested(connection, attributes, REFILL_TRAINING_STANDINGS, _refill)


def _refill(session: Session) -> None:
    """Judge every credential candidate again, as of the programme's date."""
    from lms.training.standing import refresh

    refresh(session, None, on=today(session))

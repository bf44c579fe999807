"""Test setup that writes facts without the services (rows added directly, a licence edited in
place) announces it, as the services' domain events do, so the standings follow."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.auth.models import User


def facts_changed(session: Session, *people: User | int) -> None:
    """These people's facts changed outside the services: rewrite their standings before
    the unit of work commits (what lms.progress.tracking's handlers do for a domain event)."""
    from lms.progress import tracking  # after the app has imported every model

    session.flush()
    tracking.mark_changed(session, [p if isinstance(p, int) else p.id for p in people])

"""An item's dated runs ("sessions") as the catalogue's pages and commands show them, told by
the feature that keeps them: offerings registers its source from `subscribe()` (the
catalogue stands below offerings and names none of its modules). With no source registered
an item has no sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SessionView:
    """An offering (a retreat's session, a module's dated run) as catalogue pages show it."""

    starts_on: date
    ends_on: date
    location: str
    capacity: int
    enrolment_deadline: date | None
    active: bool
    id: int = 0
    online: bool = False
    # Nobody new may join it any more (its deadline passed, it started, closed or was
    # cancelled), as the feature that keeps it rules on the day it was read: pages say
    # "enrolment closed", never a last day to enrol that has passed.
    joining_closed: bool = False


class SessionSource(Protocol):
    """What the feature that keeps the sessions answers (each in a constant number of queries)."""

    def counts(self, session: Session) -> dict[int, int]:
        """{item id: how many sessions it has}, every item."""
        ...

    def of_item(self, session: Session, item_id: int) -> list[SessionView]:
        """Every session of one item, in date order."""
        ...

    def upcoming(self, session: Session, on: date) -> dict[int, list[SessionView]]:
        """{item id: its sessions still to come on `on`}, active items only."""
        ...


SOURCES: list[SessionSource] = []


def register(source: SessionSource) -> None:
    """Add the source of sessions (once)."""
    if source not in SOURCES:
        SOURCES.append(source)


def session_counts(session: Session) -> dict[int, int]:
    """{item id: number of sessions} from every source."""
    counts: dict[int, int] = {}
    for source in SOURCES:
        for item_id, count in source.counts(session).items():
            counts[item_id] = counts.get(item_id, 0) + count
    return counts


def sessions_of(session: Session, item_id: int) -> tuple[SessionView, ...]:
    """Every session of the item."""
    return tuple(view for source in SOURCES for view in source.of_item(session, item_id))


def upcoming_sessions(session: Session, *, on: date) -> dict[int, list[SessionView]]:
    """{item id: its sessions still to come on `on`} of active items."""
    found: dict[int, list[SessionView]] = {}
    for source in SOURCES:
        for item_id, views in source.upcoming(session, on).items():
            found.setdefault(item_id, []).extend(views)
    return found

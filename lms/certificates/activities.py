"""The run a completion came from, as its certificate prints it (days, place, facilitators).

Offerings stand above certificates, so the offerings feature registers its answer here from
its `subscribe()`; certificates ask without importing it. With nothing registered (or for a
completion marked by hand) a certificate prints the completion date alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from lms.certificates.context import ActivityFacts

# (session, offering ids) -> {offering id: its facts}, in a constant number of queries.
ActivityFinder = Callable[[Session, list[int]], dict[int, ActivityFacts]]

FINDERS: list[ActivityFinder] = []


def register_activity_finder(finder: ActivityFinder) -> None:
    """Add a feature's answer (once)."""
    if finder not in FINDERS:
        FINDERS.append(finder)


def activities_of(session: Session, offering_ids: Iterable[int | None]) -> dict[int, ActivityFacts]:
    """The facts of each given offering that a registered feature knows (none: no query)."""
    wanted = sorted({offering_id for offering_id in offering_ids if offering_id is not None})
    found: dict[int, ActivityFacts] = {}
    if not wanted:
        return found
    for finder in FINDERS:
        found.update(finder(session, wanted))
    return found

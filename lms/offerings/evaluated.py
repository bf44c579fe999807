"""Who has done an offering's evaluation, as the CE roster's "evaluation done" column shows it.

The evaluations feature stands above offerings, so it registers its answer here from its
`subscribe()`; offerings asks without importing it. With nothing registered nobody has.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

EvaluatedFinder = Callable[[Session, int], set[int]]

FINDERS: list[EvaluatedFinder] = []


def register(finder: EvaluatedFinder) -> None:
    """Add a feature's answer (once)."""
    if finder not in FINDERS:
        FINDERS.append(finder)


def evaluated_user_ids(session: Session, offering_id: int) -> set[int]:
    """Ids of the people who have submitted the offering's evaluation (never what they said)."""
    found: set[int] = set()
    for finder in FINDERS:
        found |= finder(session, offering_id)
    return found

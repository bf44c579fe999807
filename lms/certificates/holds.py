"""Certificate holds: another feature may make a completion's certificate wait (for an evaluation).

A feature registers a `CertificateHold` from its `subscribe()`. While any hold says a
completion is held, recording it writes no issue record (the completion and its unlocks do
not wait), `issue-missing` passes it over, and the person's certificate pages say why it
waits. When the reason is gone the feature sends `lms.signals.certificate_hold_released`, and
the certificate is recorded and rendered exactly as for a fresh mark.

The dashboard's per-item hook (the macro `certificate_beside` of
templates/certificates/_dashboard_item.html) reads the extras key `certificate_holds`:
{completion id: Hold}, which the holding feature's dashboard section provides from what the
page already read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from lms.progress.api import Completion

DASHBOARD_KEY = "certificate_holds"


@dataclass(frozen=True)
class Hold:
    """Why one completion's certificate waits, and where the person can end the wait."""

    completion_id: int
    title: str  # the item the certificate is for
    reason: str  # as the person reads it: "Certificate waiting for your evaluation"
    reason_for_staff: str  # as staff read it on the person's certificates page
    action: str  # the link's words, e.g. "Evaluate Module 2"
    url: str  # the page that ends the wait (for the person themself)


class CertificateHold(Protocol):
    """What a holding feature answers."""

    def held(self, session: Session, completions: Sequence[Completion]) -> set[int]:
        """Ids of the given completions whose certificate must wait (constant queries)."""
        ...

    def of_person(self, session: Session, user_id: int) -> list[Hold]:
        """Every completion of the person whose certificate waits, with why (one query)."""
        ...


HOLDS: list[CertificateHold] = []


def register(hold: CertificateHold) -> None:
    """Add a feature's hold (once)."""
    if hold not in HOLDS:
        HOLDS.append(hold)


def held_ids(session: Session, completions: Sequence[Completion]) -> set[int]:
    """Ids of the completions some hold keeps waiting."""
    held: set[int] = set()
    if not completions:
        return held
    for hold in HOLDS:
        held |= hold.held(session, completions)
    return held


def holds_of_person(session: Session, user_id: int) -> list[Hold]:
    """Every hold on the person's certificates."""
    return [found for hold in HOLDS for found in hold.of_person(session, user_id)]

"""The consultations the requirement counts: the confirmed entries of the consultation log
plus the consultations another programme's credit request was approved for (lms.equivalency:
the clinician asks, staff review, with evidence). Registered as the CONSULTATIONS and
CONSULTATION_CREDIT providers of lms.training.facts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lms.equivalency.api import approved_consultation_credit
from lms.training.consultations import confirmed_counts
from lms.training.facts import CONSULTATION_CREDIT, CONSULTATIONS, provide


def counted_consultations(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per person and kind: (count, hours, first date) of the consultations that count. The
    first date is the first confirmed entry's: credit from elsewhere opens no window (its
    consultations were held before the person started here). Two queries."""
    found = {user_id: dict(kinds) for user_id, kinds in confirmed_counts(session, ids).items()}
    for user_id, kinds in approved_consultation_credit(session, ids).items():
        mine = found.setdefault(user_id, {})
        for kind, (count, hours) in kinds.items():
            confirmed, confirmed_hours, first_on = mine.get(kind, (0, Decimal(0), None))
            mine[kind] = (confirmed + count, confirmed_hours + hours, first_on)
    return found


provide(CONSULTATIONS, counted_consultations)
provide(CONSULTATION_CREDIT, approved_consultation_credit)

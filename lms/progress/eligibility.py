"""The enrolment guard: whether a person meets an item's prerequisite today, and what is
missing if not. Module enrolment and retreat applications ask it (through
lms.progress.services), so they judge exactly as the dashboard shows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import Evaluation, Outline, evaluate
from lms.catalog.services import get_item
from lms.clock import today
from lms.progress import tracking
from lms.progress.facts import facts_for, load_programme


def evaluate_item(session: Session, user: User, item_code: str) -> Evaluation:
    """Whether the person meets the item's prerequisite today, and what is missing if not.

    Read from the person's standing row (kept current in this very transaction); people who
    hold no rows (not clinicians) are judged directly by the same rule function.
    """
    item = get_item(session, item_code)
    row = tracking.row_of(session, user.id, item.id)
    if row is None:
        catalogue = load_programme(session)
        facts = facts_for(session, [user])[user.id]
        return evaluate(item.prerequisite, facts, catalogue.names)
    verdict = row.on(today(session))
    return Evaluation(
        met=verdict.met,
        explanation=verdict.explanation,
        steps=verdict.steps,
        outline=Outline.from_json(verdict.outline),
    )

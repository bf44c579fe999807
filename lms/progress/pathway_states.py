"""A clinician's states on the pathway picture (lms.catalog.drawing), read from the standings.

The picture's layout is worked out once per catalogue version (kept with the shared
catalogue); each view adds only the person's marks, from rows the page has already read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User
from lms.catalog.api import ItemKind, Mark, Pathway, in_locale, pathway_for
from lms.clock import today
from lms.progress import tracking
from lms.progress.facts import Programme, shared_programme
from lms.progress.models import ItemState
from lms.progress.statuses import ItemStatus, item_status

MARK_OF_STATE = {
    ItemState.COMPLETED: "done",
    ItemState.CREDITED: "credited",
    ItemState.AVAILABLE: "open",
    ItemState.LOCKED: "locked",
}


def programme_pathway(programme: Programme) -> Pathway:
    """The picture of this catalogue, laid out once and kept with it."""
    found = programme.memo.get("pathway")
    if found is None:
        found = programme.memo["pathway"] = pathway_for(programme.items)
    return found


def mark_of(status: ItemStatus) -> Mark:
    """One item's mark: its state, and why it is locked or when it was done."""
    state = MARK_OF_STATE[status.state]
    if status.state == ItemState.LOCKED:
        return Mark(state, in_locale(status.explanation))
    if status.state == ItemState.COMPLETED and status.completed_on is not None:
        return Mark(state, f"Completed on {dates.day(status.completed_on)}")
    # A retreat applied for says where the application stands in the node's words.
    if status.kind == ItemKind.RETREAT and status.applied and status.place is not None:
        return Mark(state, status.place.label)
    return Mark(state)


def marks_of(statuses: Iterable[ItemStatus]) -> dict[str, Mark]:
    """Every item's mark by code."""
    return {status.code: mark_of(status) for status in statuses}


def programme_page_marks(session: Session, user: User) -> Mapping[str, Mark] | None:
    """The signed-in clinician's marks for the programme page (two queries), None for others.

    Registered in lms.catalog.drawing.PATHWAY_MARKS: the catalogue feature draws the picture
    and asks whoever knows a person's standing to colour it.
    """
    if Role.CLINICIAN not in user.roles:
        return None
    programme = shared_programme(session)
    day = today(session)
    rows = tracking.rows_of(session, user.id)
    return marks_of(item_status(item, rows.get(item.id), day) for item in programme.items)


def subscribe() -> None:
    """Colour the programme page's picture for clinicians (once; calling again changes nothing)."""
    from lms.catalog.api import PATHWAY_MARKS

    if programme_page_marks not in PATHWAY_MARKS:
        PATHWAY_MARKS.append(programme_page_marks)

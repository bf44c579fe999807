"""Applications as facts of the progress standings, and the retreat rules they carry.

Module enrolments and retreat applications are rows of one table (the offerings'
enrolments). What they mean to a standing is decided here: a medical reviewer's clearance
(screening cleared), which of several live applications counts (the most advanced; which are
live is the offerings' one rule, `holds_live_place`), and how a person's place with a retreat
reads (`RetreatState`), or with a module (its most advanced live enrolment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.catalog.api import ItemKind
from lms.db import read
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering, holds_live_place
from lms.progress.api import FactSource, Histories, ItemState, register
from lms.status import Status, worded_as

# A medical reviewer cleared the applicant (low-risk applications are accepted directly);
# what happened after clearance (waitlist, attendance) does not undo it.
SCREENING_CLEARED_STATUSES = frozenset(
    {
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.ATTENDED,
        EnrolmentStatus.ABSENT,
    }
)

# When a clinician has several live applications to one retreat (or enrolments in one
# module's offerings), the most advanced one counts.
APPLICATION_RANK = {
    EnrolmentStatus.ATTENDED: 0,
    EnrolmentStatus.ENROLLED: 1,
    EnrolmentStatus.WAITLISTED: 2,
    EnrolmentStatus.MEDICAL_REVIEW: 3,
    EnrolmentStatus.NOT_CLEARED: 4,
}


class RetreatState(Status):
    """Where a clinician stands with one retreat."""

    # The item's state (lms.progress ItemState) and the place's (lms.offerings
    # EnrolmentStatus), in their words: one word for each state, listed in README's glossary.
    LOCKED = worded_as(ItemState.LOCKED)
    OPEN = "open", "Open", "info"  # ItemState.AVAILABLE's words, stored as "open"
    CREDITED = worded_as(ItemState.CREDITED)
    MEDICAL_REVIEW = worded_as(EnrolmentStatus.MEDICAL_REVIEW)
    ENROLLED = worded_as(EnrolmentStatus.ENROLLED)
    WAITLISTED = worded_as(EnrolmentStatus.WAITLISTED)
    NOT_CLEARED = worded_as(EnrolmentStatus.NOT_CLEARED)
    ATTENDED = worded_as(EnrolmentStatus.ATTENDED)


def retreat_state(state: Any, met: bool, application_status: str | None) -> RetreatState:
    """The one place a retreat's state is decided: attended, credited, applied, open or
    locked. Credit for an equivalent retreat elsewhere counts as the retreat done, as
    attending does, whatever the rule or an application says (the item's state is credited
    then, and every page says so)."""
    if state == ItemState.COMPLETED:
        return RetreatState.ATTENDED
    if state == ItemState.CREDITED:
        return RetreatState.CREDITED
    if application_status:
        return RetreatState(application_status)
    return RetreatState.OPEN if met else RetreatState.LOCKED


def enrolment_place(_state: Any, _met: bool, application_status: str | None) -> Status | None:
    """A module's place: its most advanced live enrolment, if any."""
    return EnrolmentStatus(application_status) if application_status else None


# Every application of the people with its item, its offering's status and its time (withdrawn
# ones count only towards the last activity).
_APPLICATIONS = (
    select(
        Enrolment.user_id,
        Offering.item_id,
        Enrolment.status,
        Offering.status.label("offering_status"),
        Enrolment.applied_at,
    )
    .join(Offering, Enrolment.offering_id == Offering.id)
    .where(Enrolment.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(Enrolment.applied_at, Enrolment.id)
)


def load(session: Session, ids: Sequence[int], histories: Histories) -> None:
    """Live applications of the people, the most advanced of each item's, and whether a
    reviewer has cleared their screening: one query.

    A clearance is on record whatever became of the session; a place is the person's only
    while it is live (`holds_live_place`: not on the waitlist of a session closed since, not
    in a cancelled one)."""
    best: dict[tuple[int, int], int] = {}
    rows = read(session, _APPLICATIONS, {"ids": list(ids)})
    for user_id, item_id, status, offering_status, at in rows:
        histories.saw(user_id, at)
        if status == EnrolmentStatus.WITHDRAWN:
            continue
        history = histories.of(user_id)
        history.screening_cleared |= status in SCREENING_CLEARED_STATUSES
        if not holds_live_place(status, offering_status):
            continue
        history.applied.add(item_id)
        rank = APPLICATION_RANK.get(status)
        if rank is not None and rank < best.get((user_id, item_id), len(APPLICATION_RANK)):
            best[user_id, item_id] = rank
            history.application_status[item_id] = EnrolmentStatus(status).value


register(
    FactSource(
        "applications",
        load,
        places={
            ItemKind.RETREAT: retreat_state,
            ItemKind.CORE_MODULE: enrolment_place,
            ItemKind.SPECIALTY_MODULE: enrolment_place,
        },
    )
)

"""The offerings coming up, with the places taken, on the staff home of instructors and admins;
and the offerings (module offerings and retreat sessions) left unclosed UNCLOSED_AFTER_DAYS
after their last day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask import url_for
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.clock import today
from lms.db import read
from lms.offerings.models import (
    PLACE_HOLDING,
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingFormat,
)

if TYPE_CHECKING:
    from lms.progress.staff_home import HomePart

UPCOMING_SHOWN = 8
UNCLOSED_AFTER_DAYS = 14  # an offering still open this long after its last day is forgotten

# Offerings (module offerings and retreat sessions alike) whose last day is over
# UNCLOSED_AFTER_DAYS ago and that nobody closed: their attendance is not settled (how many,
# and the oldest last day). The same offerings as the staff list's "to close" (listing.py).
_UNCLOSED = select(func.count(Offering.id), func.min(Offering.ends_on)).where(
    Offering.to_close(bindparam("cutoff"))
)


@dataclass(frozen=True)
class Upcoming:
    """One offering still to come (Offering.upcoming): what, when, where, and how full."""

    id: int
    title: str
    starts_on: date
    ends_on: date
    where: str
    capacity: int
    taken: int
    waitlisted: int
    in_review: int  # retreat applications in medical review

    @property
    def full(self) -> bool:
        """No place left."""
        return self.taken >= self.capacity


# An upcoming offering's own columns: selected, and grouped by for the counts that follow them.
_UPCOMING_COLUMNS = (
    Offering.id,
    CatalogItem.short_title,
    CatalogItem.title,
    Offering.starts_on,
    Offering.ends_on,
    Offering.format,
    Offering.location,
    Offering.capacity,
)
_UPCOMING = (
    select(
        *_UPCOMING_COLUMNS,
        func.count(Enrolment.id).filter(Enrolment.status.in_(PLACE_HOLDING)),
        func.count(Enrolment.id).filter(Enrolment.status == EnrolmentStatus.WAITLISTED),
        func.count(Enrolment.id).filter(Enrolment.status == EnrolmentStatus.MEDICAL_REVIEW),
    )
    .join(CatalogItem, Offering.item_id == CatalogItem.id)
    .outerjoin(Enrolment, Enrolment.offering_id == Offering.id)
    .where(Offering.upcoming(bindparam("today")))
    .group_by(*_UPCOMING_COLUMNS)
    .order_by(Offering.starts_on, Offering.id)
    .limit(UPCOMING_SHOWN)
)


def upcoming(session: Session, on: date) -> list[Upcoming]:
    """The next offerings (at most UPCOMING_SHOWN) with places taken and waiting (one query)."""
    rows = read(session, _UPCOMING, {"today": on})
    return [
        Upcoming(
            id=offering_id,
            title=short or title,
            starts_on=starts,
            ends_on=ends,
            where="Live online" if fmt == OfferingFormat.LIVE_ONLINE.value else location,
            capacity=capacity,
            taken=taken,
            waitlisted=waitlisted,
            in_review=in_review,
        )
        for (
            offering_id,
            short,
            title,
            starts,
            ends,
            fmt,
            location,
            capacity,
            taken,
            waitlisted,
            in_review,
        ) in rows
    ]


def staff_home_part(session: Session, user: User) -> HomePart | None:
    """The coming offerings as a section of the staff home, and the offerings left unclosed
    as waiting work (two queries; staff only)."""
    from lms.progress.api import HomePart, Waiting

    if not user.is_staff:
        return None
    day = today(session)
    count, oldest = read(
        session, _UNCLOSED, {"cutoff": day - timedelta(days=UNCLOSED_AFTER_DAYS)}
    ).one()
    unclosed = Waiting(
        f"offerings not closed {UNCLOSED_AFTER_DAYS} days after their last day",
        count or 0,
        url_for("offerings.manage", shown="to-close"),
        oldest,
        "Close them",
        "oldest last day",
        f"offering not closed {UNCLOSED_AFTER_DAYS} days after its last day",
    )
    return HomePart(
        waiting=(unclosed,),
        template="offerings/_staff_home.html",
        context={"upcoming": upcoming(session, day), "upcoming_shown": UPCOMING_SHOWN},
    )


def subscribe() -> None:
    """Register the staff home part once (calling this again changes nothing)."""
    from lms.progress.api import STAFF_HOME

    if staff_home_part not in STAFF_HOME:
        STAFF_HOME.append(staff_home_part)

"""Everyone holding a place in a module offering, as one choice on the cohort marking page
(lms.progress.cohort_picker): pick the offering and its people are listed, each with where
they stand with the module, their completions dated its last day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms import dates
from lms.clock import today
from lms.offerings.days import listed
from lms.offerings.models import (
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingFormat,
    OfferingStatus,
)

NAME = "offering"
GROUPS_SHOWN = 12  # the module's most recent offerings that have begun
# Holding a place and not marked absent: who a cohort mark is for.
MEMBERS = (EnrolmentStatus.ENROLLED, EnrolmentStatus.ATTENDED)


def _group(offering_id: int, starts_on, ends_on, fmt, location, status, members: int) -> Any:
    """The offering as a choice: "4–5 Dec 2026 · Live online · 6 enrolled (closed)"."""
    from lms.progress.api import CohortGroup

    where = "Live online" if fmt == OfferingFormat.LIVE_ONLINE else location
    label = f"{dates.day(starts_on, ends_on)} · {where} · {members} enrolled"
    if status == OfferingStatus.CLOSED:
        label += " (closed)"
    return CohortGroup(f"{NAME}-{offering_id}", label, ends_on)


_COLUMNS = (
    Offering.id,
    Offering.starts_on,
    Offering.ends_on,
    Offering.format,
    Offering.location,
    Offering.status,
)


def groups(session: Session, item: Any) -> list[Any]:
    """The module's offerings that have begun, newest first, with how many hold a place."""
    members = (
        select(func.count(Enrolment.id))
        .where(Enrolment.offering_id == Offering.id, Enrolment.status.in_(MEMBERS))
        .scalar_subquery()
    )
    rows = session.execute(
        select(*_COLUMNS, members)
        .where(Offering.item_id == item.id, listed(), Offering.started(today(session)))
        .order_by(Offering.starts_on.desc(), Offering.id.desc())
        .limit(GROUPS_SHOWN)
    )
    return [_group(*row) for row in rows]


def members(session: Session, offering_id: int, item: Any) -> tuple[Any, list[int]] | None:
    """The offering (if it is one of this module's, not cancelled) and who holds a place."""
    row = session.execute(
        select(*_COLUMNS).where(Offering.id == offering_id, Offering.item_id == item.id, listed())
    ).one_or_none()
    if row is None:
        return None
    ids = list(
        session.scalars(
            select(Enrolment.user_id).where(
                Enrolment.offering_id == offering_id, Enrolment.status.in_(MEMBERS)
            )
        )
    )
    return _group(*row, len(ids)), ids


def subscribe() -> None:
    """Offer module offerings to the cohort picker (calling this again changes nothing)."""
    from lms.progress.api import CohortSource, register_cohorts

    register_cohorts(CohortSource(NAME, groups, members))

"""Places and waitlists: the one mechanism every offering uses, modules and retreats alike.

Every change of an enrolment's status goes through `set_status` (a compare-and-set that
refuses any transition `TRANSITIONS` does not list), and every change of an offering's
places runs under `lock_offering`, so counting the places taken and taking one are atomic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, tuple_, update
from sqlalchemy.orm import Session, aliased, joinedload

from lms import dates, signals
from lms.audit.services import record_event, record_event_of
from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, NotFound
from lms.i18n import translate
from lms.offerings.models import (
    LIVE_PLACE,
    PLACE_HOLDING,
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingStatus,
)

# Statuses a clinician may still withdraw from (before the offering starts).
WITHDRAWABLE = (
    EnrolmentStatus.MEDICAL_REVIEW,
    EnrolmentStatus.ENROLLED,
    EnrolmentStatus.WAITLISTED,
)

# The only status changes an enrolment can make.
TRANSITIONS: dict[EnrolmentStatus, frozenset[EnrolmentStatus]] = {
    EnrolmentStatus.MEDICAL_REVIEW: frozenset(
        {
            EnrolmentStatus.ENROLLED,
            EnrolmentStatus.WAITLISTED,
            EnrolmentStatus.NOT_CLEARED,
            EnrolmentStatus.WITHDRAWN,
        }
    ),
    # A medical reviewer may change a retreat's screening decision before the session starts:
    # a cleared application (placed or waitlisted) is then not cleared, or the reverse.
    EnrolmentStatus.WAITLISTED: frozenset(
        {EnrolmentStatus.ENROLLED, EnrolmentStatus.WITHDRAWN, EnrolmentStatus.NOT_CLEARED}
    ),
    EnrolmentStatus.ENROLLED: frozenset(
        {
            EnrolmentStatus.ATTENDED,
            EnrolmentStatus.ABSENT,
            EnrolmentStatus.WITHDRAWN,
            EnrolmentStatus.NOT_CLEARED,
        }
    ),
    # Attendance is corrected until the offering is closed (and again once it is reopened).
    EnrolmentStatus.ABSENT: frozenset({EnrolmentStatus.ATTENDED}),
    EnrolmentStatus.ATTENDED: frozenset({EnrolmentStatus.ABSENT}),
    EnrolmentStatus.NOT_CLEARED: frozenset({EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED}),
    EnrolmentStatus.WITHDRAWN: frozenset(),
}


def lock_offering(session: Session, offering_id: int) -> Offering:
    """Load an offering locked for this transaction (FOR UPDATE on PostgreSQL).

    On SQLite the whole write transaction already holds the database's write lock
    (BEGIN IMMEDIATE), which serialises the same way.
    """
    offering = session.scalar(
        select(Offering)
        .options(joinedload(Offering.item))
        .where(Offering.id == offering_id)
        .with_for_update(of=Offering)
        .execution_options(populate_existing=True)
    )
    if offering is None:
        raise NotFound("No such offering.")
    return offering


def places_taken(session: Session, offering_id: int) -> int:
    """How many places of an offering are held (enrolled, attended or absent)."""
    return (
        session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.offering_id == offering_id, Enrolment.status.in_(PLACE_HOLDING)
            )
        )
        or 0
    )


def place_or_queue(session: Session, offering: Offering) -> EnrolmentStatus:
    """Enrolled while a place is free, else waitlisted (caller holds the offering lock)."""
    if places_taken(session, offering.id) < offering.capacity:
        return EnrolmentStatus.ENROLLED
    return EnrolmentStatus.WAITLISTED


def record_offering_event(
    session: Session, offering_id: int, action: str, *, actor_id: int | None, **facts: Any
) -> None:
    """Audit an event of an offering: it is the subject (a `person_id` among the keywords
    names the person it concerns, if any)."""
    record_event(
        session,
        actor_id=actor_id,
        action=action,
        subject_type="offering",
        subject_id=offering_id,
        **facts,
    )


def status_changed(session: Session, offering: Offering, previous: OfferingStatus) -> None:
    """After the offering's stored status changed (closed, reopened, cancelled or no longer
    cancelled): send offering_status_changed naming everyone in it but the withdrawn, whose
    live places (lms.offerings.models.holds_live_place) came or went with it (one query).

    Nothing is flushed for the query: the offering's enrolments are not what changed (a
    catalogue file's load calls this halfway through its items)."""
    if offering.status == previous:
        return
    with session.no_autoflush:
        user_ids = session.scalars(
            select(Enrolment.user_id).where(
                Enrolment.offering_id == offering.id,
                Enrolment.status != EnrolmentStatus.WITHDRAWN,
            )
        ).all()
    signals.offering_status_changed.send(
        offering, session=session, previous=previous, user_ids=user_ids
    )


def record_change(
    session: Session,
    enrolment: Enrolment,
    previous: EnrolmentStatus | None,
    *,
    actor_id: int | None,
    action: str,
    noun: str,
    **facts: object,
) -> None:
    """Audit an enrolment's change and tell subscribers, inside the unit of work. The noun
    is the audit subject: "application" for a retreat's, "enrolment" for a module's."""
    record_event_of(
        session,
        noun,
        enrolment,
        action,
        actor_id=actor_id,
        offering_id=enrolment.offering_id,
        previous=previous.value if previous else None,
        status=enrolment.status.value,
        **facts,
    )
    signals.enrolment_changed.send(enrolment, session=session, previous=previous, actor_id=actor_id)


def set_status(
    session: Session,
    enrolment: Enrolment,
    expected: EnrolmentStatus | tuple[EnrolmentStatus, ...],
    **values: object,
) -> bool:
    """Compare-and-set: change the enrolment only if it is still in an expected status."""
    allowed = expected if isinstance(expected, tuple) else (expected,)
    target = values.get("status")
    if target is not None and any(target not in TRANSITIONS[status] for status in allowed):
        raise ValueError(f"no transition from {allowed} to {target}")
    result = session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id, Enrolment.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(enrolment)
    return True


def promote_waitlisted(
    session: Session, offering: Offering, *, actor_id: int | None, noun: str
) -> list[Enrolment]:
    """Fill free places from the waitlist in order (caller holds the offering lock); none in
    an offering closed or cancelled, whose waitlist is nobody's queue any more."""
    if offering.status != OfferingStatus.SCHEDULED:
        return []
    free = offering.capacity - places_taken(session, offering.id)
    if free <= 0:
        return []
    waiting = list(
        session.scalars(
            select(Enrolment)
            .where(
                Enrolment.offering_id == offering.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
            )
            .order_by(Enrolment.applied_at, Enrolment.id)
            .limit(free)
        )
    )
    promoted = []
    for enrolment in waiting:
        if set_status(
            session,
            enrolment,
            EnrolmentStatus.WAITLISTED,
            status=EnrolmentStatus.ENROLLED,
            decided_at=utcnow(),
        ):
            record_change(
                session,
                enrolment,
                EnrolmentStatus.WAITLISTED,
                actor_id=actor_id,
                action=f"{noun}.promoted",
                noun=noun,
            )
            promoted.append(enrolment)
    return promoted


def withdraw(
    session: Session,
    enrolment: Enrolment,
    *,
    actor_id: int,
    today: date,
    noun: str,
) -> Enrolment:
    """Give up a place (or a place in the queue) before the offering starts; a freed place
    goes to the first person waiting."""
    offering = lock_offering(session, enrolment.offering_id)
    deadline_text = f"{dates.day(offering.starts_on)}"
    if offering.started(today):
        raise Conflict(
            translate(
                "The offering started on {day}, so this can no longer be withdrawn "
                "here; contact the programme team."
            ).format(day=deadline_text)
        )
    previous = enrolment.status
    if previous not in WITHDRAWABLE:
        raise Conflict(f"A {noun} that is {previous.label.lower()} cannot be withdrawn.")
    if not set_status(
        session, enrolment, previous, status=EnrolmentStatus.WITHDRAWN, withdrawn_at=utcnow()
    ):
        raise AlreadyDecided(f"The {noun} changed meanwhile; reload the page.")
    record_change(
        session, enrolment, previous, actor_id=actor_id, action=f"{noun}.withdrawn", noun=noun
    )
    if previous == EnrolmentStatus.ENROLLED:
        promote_waitlisted(session, offering, actor_id=actor_id, noun=noun)
    return enrolment


# The waitlist in promotion order, as ix_enrolments_waitlist holds it. The status is a literal,
# not a parameter, so that both databases see the query matches the partial index.
_WAITLISTED = literal_column("'waitlisted'")
_ahead = aliased(Enrolment)
_WAITLIST_PLACES = select(
    Enrolment.id,
    select(func.count())
    .where(
        _ahead.offering_id == Enrolment.offering_id,
        _ahead.status == _WAITLISTED,
        tuple_(_ahead.applied_at, _ahead.id) < tuple_(Enrolment.applied_at, Enrolment.id),
    )
    .scalar_subquery(),
).where(
    Enrolment.id.in_(bindparam("ids", expanding=True)),
    Enrolment.status == _WAITLISTED,
    LIVE_PLACE,  # a waitlist of a session closed or cancelled since is nobody's queue
)


def waitlist_positions(session: Session, enrolment_ids: Iterable[int]) -> dict[int, int]:
    """{enrolment id: 1-based place on its offering's waitlist} for these enrolments, those
    of them that are waitlisted (one query, counting those ahead in the waitlist's index)."""
    wanted = sorted(set(enrolment_ids))
    if not wanted:
        return {}
    rows = session.execute(_WAITLIST_PLACES, {"ids": wanted})
    return {enrolment_id: ahead + 1 for enrolment_id, ahead in rows}


# --------------------------------------------------------------------------- rosters

# A roster's order: places held, then the waitlist, medical review, not cleared, withdrawn.
ROSTER_ORDER = {
    EnrolmentStatus.ENROLLED: 0,
    EnrolmentStatus.ATTENDED: 0,
    EnrolmentStatus.ABSENT: 0,
    EnrolmentStatus.WAITLISTED: 1,
    EnrolmentStatus.MEDICAL_REVIEW: 2,
    EnrolmentStatus.NOT_CLEARED: 3,
    EnrolmentStatus.WITHDRAWN: 4,
}


class CountsPlaces:
    """A roster's `counts` (its enrolments by status value) and the places they hold."""

    counts: dict[str, int]

    @property
    def taken(self) -> int:
        """Places held."""
        return sum(self.counts.get(s.value, 0) for s in PLACE_HOLDING)


def roster_enrolments(session: Session, offering_id: int) -> list[Enrolment]:
    """An offering's enrolments with their people, in the order they applied (one query)."""
    return list(
        session.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.user))
            .where(Enrolment.offering_id == offering_id)
            .order_by(Enrolment.applied_at, Enrolment.id)
        )
    )


@dataclass(frozen=True)
class RosterLine:
    """One person on an offering's roster, with their number in the waitlist's queue."""

    enrolment: Enrolment
    waitlist_position: int | None  # None: not on the waitlist


def roster_lines(enrolments: Iterable[Enrolment], *, by_name: bool = False) -> list[RosterLine]:
    """An offering's enrolments in roster order: `ROSTER_ORDER`'s groups, the waitlist in the
    order it is filled from (who applied first, as `promote_waitlisted` takes them) and every
    other group by name (`by_name`) or as they applied. A waitlisted person's number is their
    place in that queue whatever else the page sorts by, so staff read the number the person's
    own page shows (`waitlist_positions`)."""
    as_applied = sorted(enrolments, key=lambda e: (e.applied_at, e.id))
    waiting = (e for e in as_applied if e.status == EnrolmentStatus.WAITLISTED)
    positions = {e.id: number for number, e in enumerate(waiting, 1)}

    def order(enrolment: Enrolment) -> tuple[int, int, str]:
        name = enrolment.user.name.lower() if by_name else ""
        return ROSTER_ORDER[enrolment.status], positions.get(enrolment.id, 0), name

    return [RosterLine(e, positions.get(e.id)) for e in sorted(as_applied, key=order)]


def status_counts(enrolments: Iterable[Enrolment]) -> dict[str, int]:
    """How many enrolments stand in each status, by the status's value."""
    return dict(Counter(e.status.value for e in enrolments))

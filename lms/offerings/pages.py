"""What the offering pages show, read in a constant number of queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from lms.auth.api import Role, User, UserRole
from lms.clock import today as programme_today
from lms.offerings import places
from lms.offerings.enrolment import enrolment_problem, live_enrolment
from lms.offerings.models import (
    PLACE_HOLDING,
    Enrolment,
    EnrolmentStatus,
    JoinRefusal,
    Offering,
    OfferingStatus,
)
from lms.offerings.schedule import get_offering
from lms.paging import contains_text
from lms.status import Status


@dataclass(frozen=True)
class OfferingPage:
    """One offering as one signed-in person sees it."""

    offering: Offering
    state: OfferingStatus
    taken: int
    waiting: int
    mine: Enrolment | None
    waitlist_position: int | None
    problem: str | None  # why this person cannot enrol (None: they can)
    shows_join_link: bool
    facilitators: list[str]
    enrol_by: date | None = None  # the last day to enrol, while clinicians still may
    enrolment_closed_on: date | None = None  # the deadline passed before the first day

    @property
    def places_left(self) -> int:
        """Places still free."""
        return max(self.offering.capacity - self.taken, 0)


def offering_page(session: Session, user: User, offering_id: int) -> OfferingPage:
    """The offering, this person's place in it and whether they may enrol (five queries)."""
    offering = get_offering(session, offering_id)
    today = programme_today(session)
    counts = Counter(
        dict(
            session.execute(
                select(Enrolment.status, func.count(Enrolment.id))
                .where(Enrolment.offering_id == offering_id)
                .group_by(Enrolment.status)
            ).all()
        )
    )
    mine = live_enrolment(session, user.id, offering_id)
    position = None
    if mine is not None and mine.status == EnrolmentStatus.WAITLISTED:
        position = places.waitlist_positions(session, [mine.id]).get(mine.id)
    problem = None
    if mine is None and not user.is_staff:
        problem = enrolment_problem(session, user, offering, today=today)
    facilitators = [
        name
        for (name,) in session.execute(
            select(User.name)
            .where(User.id.in_(bindparam("ids", expanding=True)))
            .order_by(User.name),
            {"ids": [f.user_id for f in offering.facilitators] or [0]},
        )
    ]
    holds = mine is not None and mine.status in PLACE_HOLDING
    state = offering.state(today)
    # Once its days are over (ended, closed) or it is cancelled, an offering shows neither its
    # join link nor a last day to enrol: both would be wrong to act on.
    running = state in (OfferingStatus.SCHEDULED, OfferingStatus.IN_PROGRESS)
    refusal = offering.refusal_to_join(today)
    return OfferingPage(
        offering=offering,
        state=state,
        taken=sum(counts.get(s, 0) for s in PLACE_HOLDING),
        waiting=counts.get(EnrolmentStatus.WAITLISTED, 0),
        mine=mine,
        waitlist_position=position,
        problem=problem,
        shows_join_link=running and bool(offering.join_url) and (holds or user.is_staff),
        facilitators=facilitators,
        enrol_by=offering.deadline() if refusal is None else None,
        enrolment_closed_on=(
            offering.deadline() if refusal is JoinRefusal.DEADLINE_PASSED else None
        ),
    )


@dataclass(frozen=True)
class OwnEnrolment:
    """A clinician's enrolment (or retreat application) as they see it."""

    enrolment: Enrolment
    waitlist_position: int | None

    @property
    def holds_place(self) -> bool:
        """Enrolled (so the join link is theirs)."""
        return self.enrolment.status in PLACE_HOLDING

    @property
    def status(self) -> Status:
        """What the person reads beside it: "Cancelled" once the offering is called off (the
        place stays on record but is nobody's, as the dashboard says), else where they stand."""
        offering = self.enrolment.offering
        if offering.status == OfferingStatus.CANCELLED:
            return offering.status
        return self.enrolment.status


_OWN = (
    select(Enrolment)
    .options(
        joinedload(Enrolment.offering).joinedload(Offering.item),
        joinedload(Enrolment.offering).selectinload(Offering.days),
    )
    .where(Enrolment.user_id == bindparam("user_id"))
    .order_by(Enrolment.applied_at.desc(), Enrolment.id.desc())
)


def own_enrolments(session: Session, user_id: int) -> list[OwnEnrolment]:
    """Every enrolment and application of a person, newest first, with waitlist positions
    (three queries)."""
    enrolments = list(session.scalars(_OWN, {"user_id": user_id}).unique())
    positions = places.waitlist_positions(
        session, [e.id for e in enrolments if e.status == EnrolmentStatus.WAITLISTED]
    )
    return [OwnEnrolment(e, positions.get(e.id)) for e in enrolments]


@dataclass(frozen=True)
class OfferingRoster(places.CountsPlaces):
    """An offering's people: places held, then the waitlist, then withdrawn."""

    offering: Offering
    lines: list[places.RosterLine]
    counts: dict[str, int] = field(default_factory=dict)


def offering_roster(session: Session, offering_id: int) -> OfferingRoster:
    """Everyone enrolled in an offering, places first (four queries, however many people)."""
    offering = get_offering(session, offering_id)
    enrolments = places.roster_enrolments(session, offering_id)
    return OfferingRoster(
        offering=offering,
        lines=places.roster_lines(enrolments, by_name=True),
        counts=places.status_counts(enrolments),
    )


def people_matching(session: Session, text: str, *, limit: int = 20) -> list[User]:
    """Active clinicians whose name or e-mail contains the text, by name (one query)."""
    text = text.strip()
    if len(text) < 2:
        return []
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.CLINICIAN,
                User.active.is_(True),
                contains_text(text, User.name, User.email),
            )
            .order_by(func.lower(User.name), User.id)
            .limit(limit)
        )
    )

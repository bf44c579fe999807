"""A retreat session's roster (who applied, where each stands, the CSV) and marking attendance
after the session, which records the completion of those who attended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.clock import start_of_day
from lms.clock import today as programme_today
from lms.csv_safe import write_csv
from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, NotFound
from lms.i18n import translate
from lms.offerings import places
from lms.offerings.api import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Offering,
    OfferingStatus,
    record_attendance_completion,
)
from lms.progress.api import Completion
from lms.retreats.records import NOUN, day_or_today, day_text, get_application, get_retreat_session

# --------------------------------------------------------------------------- rosters, attendance

# The applicants whose attendance is marked: those holding a place.
MARKABLE = (EnrolmentStatus.ENROLLED, EnrolmentStatus.ATTENDED, EnrolmentStatus.ABSENT)


class ScreeningDecision(StrEnum):
    """The only screening information staff other than reviewers ever see."""

    PENDING = "Awaiting medical review"
    CLEARED = "Cleared"
    NOT_CLEARED = "Not cleared"
    NOT_REVIEWED = "Not reviewed"


def screening_decision(application: Enrolment) -> ScreeningDecision:
    """The decision (never the answers) an application's status implies."""
    status = application.status
    if status == EnrolmentStatus.MEDICAL_REVIEW:
        return ScreeningDecision.PENDING
    if status == EnrolmentStatus.NOT_CLEARED:
        return ScreeningDecision.NOT_CLEARED
    if status == EnrolmentStatus.WITHDRAWN:
        # Only cleared applications can be withdrawn after review.
        return (
            ScreeningDecision.CLEARED if application.reviewed_at else ScreeningDecision.NOT_REVIEWED
        )
    return ScreeningDecision.CLEARED


@dataclass(frozen=True)
class RosterRow:
    """One line of a session roster."""

    application: Enrolment
    decision: ScreeningDecision
    waitlist_position: int | None


@dataclass(frozen=True)
class Roster(places.CountsPlaces):
    """A session's applicants, counts and waitlist."""

    session: Offering
    rows: list[RosterRow]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def places_left(self) -> int:
        """Places still free."""
        return max(self.session.capacity - self.taken, 0)

    @property
    def state(self) -> OfferingStatus:
        """The session's status as people read it today (ended, to be closed; closed...)."""
        return self.session.state(programme_today())

    @property
    def attendance_open(self) -> bool:
        """Attendance can be marked from the session's last day on, until it is closed."""
        return self.session.attendance_open(programme_today())

    @property
    def over(self) -> bool:
        """The session's days are over (or it is cancelled): places are no longer the news."""
        return self.state in (OfferingStatus.ENDED, OfferingStatus.CLOSED, OfferingStatus.CANCELLED)


def roster(session: Session, session_id: int) -> Roster:
    """Everyone who applied to a session, grouped by status (two queries)."""
    retreat_session = get_retreat_session(session, session_id)
    applications = places.roster_enrolments(session, session_id)
    rows = [
        RosterRow(line.enrolment, screening_decision(line.enrolment), line.waitlist_position)
        for line in places.roster_lines(applications)
    ]
    return Roster(session=retreat_session, rows=rows, counts=places.status_counts(applications))


def roster_csv(data: Roster) -> str:
    """The roster as CSV: people, statuses and the screening *decision* only (no health data)."""
    header = [
        "name",
        "credentials",
        "email",
        "licence",
        "applied_at",
        "status",
        "screening_decision",
        "waitlist_position",
        "attendance_marked_at",
    ]
    rows = []
    for row in data.rows:
        a = row.application
        licence = " ".join(
            part
            for part in (a.user.licence_type, a.user.licence_number, a.user.licence_state)
            if part
        )
        rows.append(
            [
                a.user.name,
                a.user.credentials,
                a.user.email,
                licence,
                a.applied_at.isoformat(timespec="seconds"),
                a.status.label,
                row.decision.value,
                row.waitlist_position or "",
                a.attendance_marked_at.isoformat(timespec="seconds")
                if a.attendance_marked_at
                else "",
            ]
        )
    return write_csv(header, rows)


def mark_attendance(
    session: Session,
    application_id: int,
    *,
    actor_id: int,
    attended: bool,
    today: date | None = None,
) -> Enrolment:
    """After the session, until it is closed: attended records the retreat's completion
    (unlocking at once); absent corrects an earlier "attended", whose completion closing the
    session then revokes, with the reason given there."""
    application = get_application(session, application_id)
    retreat_session = application.offering
    if retreat_session.status == OfferingStatus.CLOSED:
        raise Conflict(
            "This session is closed: its attendance can no longer change. An administrator "
            "can reopen it to correct it."
        )
    if retreat_session.status == OfferingStatus.CANCELLED:
        raise Conflict(translate("This session is cancelled: it has no attendance to mark."))
    if not retreat_session.attendance_open(day_or_today(today)):
        raise Conflict(
            "Attendance can be marked from the session's last day "
            f"({day_text(retreat_session.ends_on)})."
        )
    previous = application.status
    status = EnrolmentStatus.ATTENDED if attended else EnrolmentStatus.ABSENT
    if previous == status:
        raise AlreadyDecided(f"{application.user.name} is already marked {status.label.lower()}.")
    if previous not in MARKABLE:
        raise Conflict(
            f"Only enrolled applicants can be marked; this one is {previous.label.lower()}."
        )
    if not places.set_status(
        session,
        application,
        previous,
        status=status,
        attendance_marked_at=utcnow(),
        attendance_marked_by_id=actor_id,
    ):
        raise AlreadyDecided("Attendance was marked by someone else meanwhile; reload the page.")
    places.record_change(
        session,
        application,
        previous,
        actor_id=actor_id,
        action="application.attended" if attended else "application.absent",
        noun=NOUN,
    )
    if attended:
        _record_unless_completed(session, application, retreat_session, actor_id)
    return application


def _record_unless_completed(
    session: Session, application: Enrolment, retreat_session: Offering, actor_id: int
) -> None:
    """Record the retreat's completion from this session's attendance, unless the clinician
    already has the retreat completed (an earlier session, past records): that record stays,
    and attendance is still noted on the application."""
    already = session.scalar(
        select(Completion.id).where(
            Completion.user_id == application.user_id,
            Completion.item_id == retreat_session.item_id,
            Completion.is_live,
        )
    )
    if already is None:
        record_attendance_completion(
            session,
            application,
            retreat_session,
            actor_id=actor_id,
            days_attended=len(retreat_session.days),
        )


def record_past_attendance(
    session: Session, session_id: int, user_id: int, *, actor_id: int, today: date | None = None
) -> Enrolment:
    """Put attendance kept before the tracker on a session that is over (the programme's
    past records): the clinician reads attended on its roster, as accepted applicants marked
    attended do, and gets the retreat's completion the same way. Their screening was done
    outside the tracker, so none is stored."""
    retreat_session = places.lock_offering(session, session_id)
    if not retreat_session.item.is_retreat:
        raise NotFound("No such retreat session.")
    if retreat_session.status != OfferingStatus.SCHEDULED:
        raise Conflict(
            translate(
                "Past attendance goes on a session that is not closed or cancelled; "
                "reopen it first."
            )
        )
    if not retreat_session.ended(day_or_today(today)):
        raise Conflict("Past attendance goes on a session that is over; mark this one instead.")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    existing = session.scalar(
        select(Enrolment.id).where(
            Enrolment.user_id == user_id,
            Enrolment.offering_id == session_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    )
    if existing is not None:
        raise AlreadyDecided(f"{user.name} is on this session's roster already.")
    application = Enrolment(
        user_id=user_id,
        offering_id=session_id,
        status=EnrolmentStatus.ATTENDED,
        source=EnrolmentSource.STAFF,
        enrolled_by_id=actor_id,
        applied_at=start_of_day(retreat_session.starts_on, session),
        attendance_marked_at=utcnow(),
        attendance_marked_by_id=actor_id,
    )
    session.add(application)
    session.flush()
    places.record_change(
        session,
        application,
        None,
        actor_id=actor_id,
        action="application.attended",
        noun=NOUN,
        past_records=True,
    )
    _record_unless_completed(session, application, retreat_session, actor_id)
    return application

"""A retreat session's roster (who applied, where each stands, the CSV) and marking attendance
after the session, which records the completion of those who attended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.clock import today as programme_today
from lms.csv_safe import write_csv
from lms.db import utcnow
from lms.errors import (
    AlreadyDecided,
    Conflict,
)
from lms.offerings import places
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering
from lms.progress.api import Completion, CompletionSource
from lms.retreats.records import NOUN, day_or_today, day_text, get_application, get_retreat_session

# --------------------------------------------------------------------------- rosters, attendance


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
    def attendance_open(self) -> bool:
        """Attendance can be marked from the session's last day on."""
        return programme_today() >= self.session.ends_on


def roster(session: Session, session_id: int) -> Roster:
    """Everyone who applied to a session, grouped by status (two queries)."""
    retreat_session = get_retreat_session(session, session_id)
    applications = places.roster_enrolments(session, session_id)
    applications.sort(key=lambda a: places.ROSTER_ORDER[a.status])
    numbers = places.waitlist_numbers(applications)
    rows = [
        RosterRow(a, screening_decision(a), n) for a, n in zip(applications, numbers, strict=True)
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
                a.status.value,
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
    """After the session: attended records the retreat's completion (unlocking at once)."""
    from lms.progress.services import record_completion

    application = get_application(session, application_id)
    retreat_session = application.offering
    if day_or_today(today) < retreat_session.ends_on:
        raise Conflict(
            "Attendance can be marked from the session's last day "
            f"({day_text(retreat_session.ends_on)})."
        )
    previous = application.status
    if attended:
        allowed: tuple[EnrolmentStatus, ...] = (
            EnrolmentStatus.ENROLLED,
            EnrolmentStatus.ABSENT,
        )
        status = EnrolmentStatus.ATTENDED
    else:
        allowed = (EnrolmentStatus.ENROLLED,)
        status = EnrolmentStatus.ABSENT
    if previous not in allowed:
        if previous == EnrolmentStatus.ATTENDED:
            raise AlreadyDecided(
                "Attendance is already recorded as attended; to undo it, revoke the retreat's "
                "completion on the clinician's progress page."
            )
        raise Conflict(
            f"Only accepted applicants can be marked; this one is {previous.label.lower()}."
        )
    if not places.set_status(
        session,
        application,
        allowed,
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
        already = session.scalar(
            select(Completion.id).where(
                Completion.user_id == application.user_id,
                Completion.item_id == retreat_session.item_id,
                Completion.is_live,
            )
        )
        # A clinician who already has this retreat completed (an earlier session) keeps
        # that record; attendance is still noted on the application.
        if already is None:
            record_completion(
                session,
                user_id=application.user_id,
                item_code=retreat_session.item.code,
                completed_on=retreat_session.ends_on,
                source=CompletionSource.ATTENDANCE,
                actor_id=actor_id,
                note=f"Attended the {retreat_session.location} session",
                offering_id=retreat_session.id,
            )
    return application

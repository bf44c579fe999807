"""Retreat rules: applications with screening, medical review, rosters and attendance.

A retreat's sessions are offerings and its applications are enrolments (lms.offerings):
places and the waitlist work as for every offering; a retreat adds the medical screening
in front of a place and marks attendance per person after the session.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms import dates
from lms.audit.services import record_event
from lms.auth.models import User
from lms.auth.services import require_confirmed_email
from lms.catalog.models import Offering
from lms.catalog.rules import LICENCE_STEP, SCREENING_STEP, Evaluation
from lms.clock import programme_zone
from lms.clock import today as programme_today
from lms.csv_safe import write_csv
from lms.db import utcnow
from lms.errors import (
    AlreadyDecided,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PrerequisiteNotMet,
)
from lms.offerings import places
from lms.offerings.models import PLACE_HOLDING, Enrolment, EnrolmentStatus
from lms.offerings.schedule import get_offering
from lms.progress.models import Completion, CompletionSource
from lms.retreats.models import Screening
from lms.retreats.screening import (
    ScreeningInput,
    ScreeningUnavailable,
    decrypt_screening,
    encrypt_screening,
    fernet_for,
)

NOUN = "application"  # what a retreat's enrolment is called in audit actions and messages


def _today(today: date | None) -> date:
    """The day rules are judged on (tests pass one; the app uses the server's date)."""
    return today or programme_today()


def _fmt(value: date) -> str:
    """A date as people read it in messages (the one date style)."""
    return dates.day(value)


# --------------------------------------------------------------------------- applying


def get_retreat_session(session: Session, session_id: int) -> Offering:
    """An offering of a retreat, or NotFound (a module's offering is not a retreat session)."""
    try:
        offering = get_offering(session, session_id)
    except NotFound:
        offering = None
    if offering is None or not offering.item.is_retreat:
        raise NotFound("No such retreat session.")
    return offering


def credit_may_help(steps: tuple[str, ...]) -> bool:
    """Whether credit for outside training could open a locked retreat: some step missing is
    training, not only the licence (or a screening, which no credit replaces)."""
    return any(step not in (LICENCE_STEP, SCREENING_STEP) for step in steps)


def _eligibility(
    session: Session, user: User, retreat_session: Offering, today: date | None
) -> tuple[str | None, Evaluation | None]:
    """Why this person cannot apply now (or None), and the unmet prerequisite if that is why."""
    from lms.progress.services import evaluate_item

    day = _today(today)
    if not retreat_session.active:
        return "This session is not open for applications.", None
    if retreat_session.starts_on <= day:
        return "This session has already started; applications are closed.", None
    if retreat_session.enrolment_deadline and day > retreat_session.enrolment_deadline:
        return (
            "The application deadline for this session passed on "
            f"{_fmt(retreat_session.enrolment_deadline)}."
        ), None
    # The licence requirement, like every other, is in the retreat's catalogue rule.
    evaluation = evaluate_item(session, user, retreat_session.item.code)
    if not evaluation.met:
        said = evaluation.explanation or "The prerequisite for this retreat is not met yet."
        return said, evaluation
    return None, None


def eligibility_problem(
    session: Session, user: User, retreat_session: Offering, *, today: date | None = None
) -> str | None:
    """Why this person cannot apply to this session now, or None when they can."""
    return _eligibility(session, user, retreat_session, today)[0]


def live_application(session: Session, user_id: int, session_id: int) -> Enrolment | None:
    """The clinician's application to a session that is not withdrawn, if any."""
    return session.scalar(
        select(Enrolment).where(
            Enrolment.user_id == user_id,
            Enrolment.offering_id == session_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    )


@dataclass(frozen=True)
class ApplyPage:
    """What the application page shows: the session, and whether (and why not) one may apply."""

    retreat_session: Offering
    existing: Enrolment | None
    problem: str | None
    unavailable: str | None
    places_left: int
    unmet: Evaluation | None = None  # the prerequisite, when that is the problem
    credit_may_help: bool = False  # the unmet part is training credit could stand for


def apply_page(
    session: Session,
    user: User,
    session_id: int,
    *,
    screening_key: str | None,
    today: date | None = None,
) -> ApplyPage:
    """Everything the application form needs to say before anyone posts it (read only)."""
    retreat_session = get_retreat_session(session, session_id)
    unavailable = None
    try:
        fernet_for(screening_key)
    except ScreeningUnavailable as error:
        unavailable = error.message
    problem, unmet = _eligibility(session, user, retreat_session, today)
    return ApplyPage(
        retreat_session=retreat_session,
        existing=live_application(session, user.id, session_id),
        problem=problem,
        unavailable=unavailable,
        places_left=max(retreat_session.capacity - places.places_taken(session, session_id), 0),
        unmet=unmet,
        credit_may_help=unmet is not None and credit_may_help(unmet.steps),
    )


def apply(
    session: Session,
    *,
    user_id: int,
    session_id: int,
    screening: ScreeningInput,
    screening_key: str | None,
    today: date | None = None,
) -> Enrolment:
    """Apply to a session with a screening; every guard runs in this same transaction."""
    fernet_for(screening_key)  # a missing key refuses before anything is written
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    require_confirmed_email(user)  # accounts: an unconfirmed address may not apply yet
    retreat_session = places.lock_offering(session, session_id)
    if not retreat_session.item.is_retreat:
        raise NotFound("No such retreat session.")
    problem = eligibility_problem(session, user, retreat_session, today=today)
    if problem is not None:
        raise PrerequisiteNotMet(problem)
    existing = live_application(session, user_id, session_id)
    if existing is not None:
        raise Conflict(
            "You have already applied to this session (status: "
            f"{existing.status.label.lower()}). Withdraw that application first to apply again."
        )
    screening.validate()
    application = Enrolment(
        user_id=user_id,
        offering_id=session_id,
        status=EnrolmentStatus.MEDICAL_REVIEW,
        low_risk=not screening.any_yes,
        applied_at=utcnow(),
    )
    session.add(application)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise Conflict("You have already applied to this session.") from error
    session.add(
        Screening(
            enrolment_id=application.id,
            answers_encrypted=encrypt_screening(screening_key, screening),
            any_yes=screening.any_yes,
        )
    )
    session.flush()
    places.record_change(
        session, application, None, actor_id=user_id, action="application.submitted", noun=NOUN
    )
    return application


def _get_application(session: Session, application_id: int) -> Enrolment:
    """An application with its person and session, or NotFound."""
    application = session.scalar(
        select(Enrolment)
        .options(
            joinedload(Enrolment.user),
            joinedload(Enrolment.offering).joinedload(Offering.item),
            joinedload(Enrolment.reviewer),
        )
        .where(Enrolment.id == application_id)
        .execution_options(populate_existing=True)
    )
    if application is None:
        raise NotFound("No such application.")
    return application


def withdraw(
    session: Session, application_id: int, *, user_id: int, today: date | None = None
) -> Enrolment:
    """The clinician withdraws until the session starts; a freed place goes to the waitlist."""
    application = _get_application(session, application_id)
    if application.user_id != user_id:
        raise NotFound("No such application.")
    return places.withdraw(session, application, actor_id=user_id, today=_today(today), noun=NOUN)


# --------------------------------------------------------------------------- medical review


def review_queue(session: Session) -> list[Enrolment]:
    """Applications awaiting medical review, oldest first (one query; no answers loaded)."""
    return list(
        session.scalars(
            select(Enrolment)
            .options(
                joinedload(Enrolment.user),
                joinedload(Enrolment.offering).joinedload(Offering.item),
            )
            .where(Enrolment.status == EnrolmentStatus.MEDICAL_REVIEW)
            .order_by(Enrolment.applied_at, Enrolment.id)
        )
    )


@dataclass(frozen=True)
class ScreeningView:
    """What a medical reviewer reads."""

    application: Enrolment
    answers: ScreeningInput | None
    purged: bool


def open_screening(
    session: Session, application_id: int, *, reviewer_id: int, screening_key: str | None
) -> ScreeningView:
    """Decrypt an application's answers for a reviewer and log that they were viewed."""
    application = _get_application(session, application_id)
    screening = session.get(Screening, application_id)
    if screening is None:
        raise NotFound("This application has no screening.")
    answers = None
    if screening.answers_encrypted is not None:
        answers = decrypt_screening(screening_key, screening.answers_encrypted)
    record_event(
        session,
        actor_id=reviewer_id,
        action="screening.viewed",
        subject_type="application",
        subject_id=application.id,
        person_id=application.user_id,
    )
    return ScreeningView(application=application, answers=answers, purged=answers is None)


def _decided_message(application: Enrolment) -> str:
    """'Already decided by … on …' for a reviewer who came second."""
    who = application.reviewer.name if application.reviewer else "another reviewer"
    when = application.reviewed_at or application.decided_at
    on = dates.moment(when, programme_zone()) if when else "earlier"
    if application.status == EnrolmentStatus.WITHDRAWN and application.reviewed_at is None:
        return "The clinician withdrew this application before it was reviewed."
    return (
        f"This screening was already decided by {who} on {on} "
        f"(the application is now {application.status.label.lower()})."
    )


def decide_screening(
    session: Session, application_id: int, *, reviewer_id: int, clear: bool
) -> Enrolment:
    """Clear (accept up to capacity, else waitlist) or not clear, exactly once."""
    application = _get_application(session, application_id)
    if application.user_id == reviewer_id:
        raise Forbidden("You cannot review your own screening; another reviewer must.")
    retreat_session = places.lock_offering(session, application.offering_id)
    now = utcnow()
    if clear:
        taken = places.places_taken(session, retreat_session.id)
        status = (
            EnrolmentStatus.ENROLLED
            if taken < retreat_session.capacity
            else EnrolmentStatus.WAITLISTED
        )
    else:
        status = EnrolmentStatus.NOT_CLEARED
    if not places.set_status(
        session,
        application,
        EnrolmentStatus.MEDICAL_REVIEW,
        status=status,
        reviewer_id=reviewer_id,
        reviewed_at=now,
        decided_at=now,
    ):
        raise AlreadyDecided(_decided_message(_get_application(session, application_id)))
    places.record_change(
        session,
        application,
        EnrolmentStatus.MEDICAL_REVIEW,
        actor_id=reviewer_id,
        action="screening.cleared" if clear else "screening.not_cleared",
        noun=NOUN,
    )
    return application


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
class Roster:
    """A session's applicants, counts and waitlist."""

    session: Offering
    rows: list[RosterRow]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def taken(self) -> int:
        """Places held."""
        return sum(self.counts.get(s.value, 0) for s in PLACE_HOLDING)

    @property
    def places_left(self) -> int:
        """Places still free."""
        return max(self.session.capacity - self.taken, 0)

    @property
    def attendance_open(self) -> bool:
        """Attendance can be marked from the session's last day on."""
        return programme_today() >= self.session.ends_on


_ROSTER_ORDER = {
    EnrolmentStatus.ATTENDED: 0,
    EnrolmentStatus.ENROLLED: 0,
    EnrolmentStatus.ABSENT: 0,
    EnrolmentStatus.WAITLISTED: 1,
    EnrolmentStatus.MEDICAL_REVIEW: 2,
    EnrolmentStatus.NOT_CLEARED: 3,
    EnrolmentStatus.WITHDRAWN: 4,
}


def roster(session: Session, session_id: int) -> Roster:
    """Everyone who applied to a session, grouped by status (two queries)."""
    retreat_session = get_retreat_session(session, session_id)
    applications = list(
        session.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.user))
            .where(Enrolment.offering_id == session_id)
            .order_by(Enrolment.applied_at, Enrolment.id)
        )
    )
    applications.sort(key=lambda a: _ROSTER_ORDER[a.status])
    position = 0
    rows = []
    for application in applications:
        waitlist_position = None
        if application.status == EnrolmentStatus.WAITLISTED:
            position += 1
            waitlist_position = position
        rows.append(RosterRow(application, screening_decision(application), waitlist_position))
    counts = Counter(a.status.value for a in applications)
    return Roster(session=retreat_session, rows=rows, counts=dict(counts))


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

    application = _get_application(session, application_id)
    retreat_session = application.offering
    if _today(today) < retreat_session.ends_on:
        raise Conflict(
            "Attendance can be marked from the session's last day "
            f"({_fmt(retreat_session.ends_on)})."
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
                Completion.revoked_at.is_(None),
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


# --------------------------------------------------------------------------- retention


def purge_screenings(
    session: Session,
    *,
    older_than_days: int,
    actor_id: int | None = None,
    today: date | None = None,
) -> int:
    """Erase the answers of sessions that ended more than N days ago; decisions stay."""
    if older_than_days < 0:
        raise InvalidInput("--older-than must be zero or more days.")
    cutoff = _today(today) - timedelta(days=older_than_days)
    ended = (
        select(Enrolment.id)
        .join(Offering, Offering.id == Enrolment.offering_id)
        .where(Offering.ends_on < cutoff)
    )
    result = session.execute(
        update(Screening)
        .where(Screening.purged_at.is_(None), Screening.enrolment_id.in_(ended))
        .values(answers_encrypted=None, purged_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    record_event(
        session,
        actor_id=actor_id,
        action="screening.purged",
        subject_type="screening",
        count=count,
        sessions_ended_before=cutoff,
    )
    return count

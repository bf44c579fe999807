"""Medical review of retreat applications: the queue, opening a screening (audited, medical
reviewers only), the decision with its note, and purging screening answers past their
retention. Questions to the applicant and the notes' trail are lms.retreats.review_thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, joinedload

from lms import dates
from lms.audit.services import record_event, record_event_of
from lms.clock import programme_zone
from lms.db import utcnow
from lms.errors import (
    AlreadyDecided,
    InvalidInput,
    NotFound,
)
from lms.offerings import places
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering
from lms.retreats.models import Screening, ScreeningQuestion, Verdict
from lms.retreats.records import (
    NOUN,
    application_for_reviewer,
    day_or_today,
    get_application,
    refuse_unless_running,
)
from lms.retreats.review_thread import (
    AWAITING_APPLICANT,
    AWAITING_REVIEWER,
    ThreadEntry,
    erase_review_texts,
    not_their_own,
    record_decision,
    review_thread,
)
from lms.retreats.screening import (
    ScreeningInput,
    decrypt_screening,
    fernet_for,
)

# --------------------------------------------------------------------------- medical review


def _in_review(
    session: Session, waiting_on: ColumnElement[bool], reviewer_id: int | None
) -> list[Enrolment]:
    """Applications in medical review waiting on someone, oldest first (no answers loaded),
    but the reviewer's own."""
    return list(
        session.scalars(
            select(Enrolment)
            .options(
                joinedload(Enrolment.user),
                joinedload(Enrolment.offering).joinedload(Offering.item),
            )
            .where(waiting_on, not_their_own(reviewer_id or 0))
            .order_by(Enrolment.applied_at, Enrolment.id)
        )
    )


@dataclass(frozen=True)
class ReviewQueue:
    """The reviewers' queue: applications waiting for a reviewer (those whose applicant has
    answered a question marked), and those waiting for the applicant's answer."""

    waiting: list[Enrolment]
    answered: frozenset[int]
    with_applicants: list[Enrolment]


def review_queue(session: Session, *, reviewer_id: int | None = None) -> ReviewQueue:
    """Applications awaiting a reviewer and those awaiting an applicant, the reviewer's own
    left out (three queries; no answers, notes or questions loaded)."""
    waiting = _in_review(session, AWAITING_REVIEWER, reviewer_id)
    answered = frozenset(
        session.scalars(
            select(ScreeningQuestion.enrolment_id).where(
                ScreeningQuestion.enrolment_id.in_([a.id for a in waiting]),
                ScreeningQuestion.answered_at.is_not(None),
            )
        )
    )
    return ReviewQueue(waiting, answered, _in_review(session, AWAITING_APPLICANT, reviewer_id))


@dataclass(frozen=True)
class ScreeningView:
    """What a medical reviewer reads."""

    application: Enrolment
    answers: ScreeningInput | None
    purged: bool
    thread: list[ThreadEntry]

    @property
    def question_open(self) -> bool:
        """A question to the applicant waits for its answer."""
        asked = [e for e in self.thread if e.kind in ("question", "answer")]
        return bool(asked) and asked[-1].kind == "question"


def open_screening(
    session: Session, application_id: int, *, reviewer_id: int, screening_key: str | None
) -> ScreeningView:
    """Decrypt an application's answers, notes, questions and answers for a reviewer (never
    their own application's) and log that they were viewed."""
    application = application_for_reviewer(session, application_id, reviewer_id)
    screening = session.get(Screening, application_id)
    if screening is None:
        raise NotFound("This application has no screening.")
    answers = None
    if screening.answers_encrypted is not None:
        answers = decrypt_screening(screening_key, screening.answers_encrypted)
    record_event_of(session, "application", application, "screening.viewed", actor_id=reviewer_id)
    thread = review_thread(session, application, screening_key=screening_key)
    return ScreeningView(
        application=application, answers=answers, purged=answers is None, thread=thread
    )


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
    session: Session,
    application_id: int,
    *,
    reviewer_id: int,
    clear: bool,
    note: str = "",
    screening_key: str | None = None,
) -> Enrolment:
    """Clear (accept up to capacity, else waitlist) or not clear, exactly once; the reviewer's
    note (optional) is kept encrypted with the decision."""
    if note.strip():
        fernet_for(screening_key)  # a note needs the key: refuse before anything changes
    application = application_for_reviewer(session, application_id, reviewer_id)
    retreat_session = places.lock_offering(session, application.offering_id)
    refuse_unless_running(application)
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
        raise AlreadyDecided(_decided_message(get_application(session, application_id)))
    places.record_change(
        session,
        application,
        EnrolmentStatus.MEDICAL_REVIEW,
        actor_id=reviewer_id,
        action="screening.cleared" if clear else "screening.not_cleared",
        noun=NOUN,
    )
    record_decision(
        session,
        application,
        reviewer_id=reviewer_id,
        verdict=Verdict.CLEARED if clear else Verdict.NOT_CLEARED,
        note=note,
        screening_key=screening_key,
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
    """Erase the answers, reviewers' notes, questions and answers of sessions that ended more
    than N days ago; decisions stay."""
    if older_than_days < 0:
        raise InvalidInput("--older-than must be zero or more days.")
    cutoff = day_or_today(today) - timedelta(days=older_than_days)
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
    erase_review_texts(session, ended, utcnow())
    record_event(
        session,
        actor_id=actor_id,
        action="screening.purged",
        subject_type="screening",
        count=count,
        sessions_ended_before=cutoff,
    )
    return count

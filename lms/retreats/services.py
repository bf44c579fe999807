"""Retreat rules: applications with screening, medical review, rosters and attendance.

Applying is here; medical review is lms.retreats.review (questions to the applicant and
reviewers' notes lms.retreats.review_thread, past decisions lms.retreats.past_decisions) and
rosters with attendance lms.retreats.rosters (named here too, so callers keep one address).

A retreat's sessions are offerings and its applications are enrolments (lms.offerings):
places and the waitlist work as for every offering; a retreat adds the medical screening
in front of a place and marks attendance per person after the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.auth.services import require_confirmed_email
from lms.catalog.api import LICENCE_STEP, SCREENING_STEP, Evaluation
from lms.db import flush_or_refuse, utcnow
from lms.errors import (
    Conflict,
    NotFound,
    PrerequisiteNotMet,
)
from lms.offerings import places
from lms.offerings.api import Enrolment, EnrolmentStatus, JoinRefusal, Offering, live_enrolment
from lms.retreats.models import Screening
from lms.retreats.past_decisions import DecidedRow, change_decision, decided_page
from lms.retreats.records import NOUN, day_or_today, day_text, get_application, get_retreat_session
from lms.retreats.review import (
    ReviewQueue,
    ScreeningView,
    decide_screening,
    open_screening,
    purge_screenings,
    review_queue,
)
from lms.retreats.review_thread import (
    ApplicantQuestions,
    answer_question,
    applicant_questions,
    ask_question,
)
from lms.retreats.rosters import (
    Roster,
    RosterRow,
    ScreeningDecision,
    mark_attendance,
    record_past_attendance,
    roster,
    roster_csv,
    screening_decision,
)
from lms.retreats.screening import (
    ScreeningInput,
    ScreeningUnavailable,
    encrypt_screening,
    fernet_for,
)

# --------------------------------------------------------------------------- applying

__all__ = [
    "ApplicantQuestions",
    "ApplyPage",
    "DecidedRow",
    "NOUN",
    "ReviewQueue",
    "Roster",
    "RosterRow",
    "ScreeningDecision",
    "ScreeningView",
    "answer_question",
    "applicant_questions",
    "apply",
    "apply_page",
    "ask_question",
    "change_decision",
    "credit_may_help",
    "decide_screening",
    "decided_page",
    "eligibility_problem",
    "get_retreat_session",
    "mark_attendance",
    "open_screening",
    "purge_screenings",
    "record_past_attendance",
    "review_queue",
    "roster",
    "roster_csv",
    "screening_decision",
    "withdraw",
]


def credit_may_help(steps: tuple[str, ...]) -> bool:
    """Whether credit for outside training could open a locked retreat: some step missing is
    training, not only the licence (or a screening, which no credit replaces)."""
    return any(step not in (LICENCE_STEP, SCREENING_STEP) for step in steps)


def _eligibility(
    session: Session, user: User, retreat_session: Offering, today: date | None
) -> tuple[str | None, Evaluation | None]:
    """Why this person cannot apply now (or None), and the unmet prerequisite if that is why."""
    from lms.progress.api import standing_words
    from lms.progress.services import evaluate_item

    day = day_or_today(today)
    refusal = retreat_session.refusal_to_join(day)
    if refusal in (JoinRefusal.CANCELLED, JoinRefusal.CLOSED):
        return "This session is not open for applications.", None
    if refusal is JoinRefusal.STARTED:
        return "This session has already started; applications are closed.", None
    if refusal is JoinRefusal.DEADLINE_PASSED:
        return (
            "The application deadline for this session passed on "
            f"{day_text(retreat_session.deadline())}."
        ), None
    # Attended or credited: nothing to apply for (the retreats page offers no Apply either).
    words, _, done = standing_words(session, retreat_session.item, [user.id])[user.id]
    if done:
        return f"You already have this retreat: {words}. There is nothing to apply for.", None
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
        existing=live_enrolment(session, user.id, session_id),
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
    existing = live_enrolment(session, user_id, session_id)
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
    flush_or_refuse(session, Conflict("You have already applied to this session."))
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


def withdraw(
    session: Session, application_id: int, *, user_id: int, today: date | None = None
) -> Enrolment:
    """The clinician withdraws until the session starts; a freed place goes to the waitlist."""
    application = get_application(session, application_id)
    if application.user_id != user_id:
        raise NotFound("No such application.")
    return places.withdraw(
        session, application, actor_id=user_id, today=day_or_today(today), noun=NOUN
    )

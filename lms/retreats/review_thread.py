"""What a medical review says besides the answers: reviewers' notes on their decisions, their
questions to the applicant and the applicant's answers (more information requested).

All of it is health data, encrypted with the screening key: a medical reviewer reads the whole
thread (on the screening page, whose every view is audited); the applicant reads the questions
addressed to them and their own answers, nothing else. While a question waits for its answer
the application waits for the applicant, out of the reviewers' queue; the answer puts it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session, joinedload

from lms import signals
from lms.audit.services import record_event_of
from lms.db import flush_or_refuse, utcnow
from lms.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from lms.offerings.api import LIVE_PLACE, Enrolment, EnrolmentStatus
from lms.retreats.models import ReviewDecision, ReviewState, ScreeningQuestion, Verdict
from lms.retreats.records import (
    NOUN,
    application_for_reviewer,
    get_application,
    refuse_unless_running,
)
from lms.retreats.screening import MAX_MESSAGE, decrypt_text, encrypt_text

QUESTION_WAITING = "A question to this applicant is still waiting for an answer."

# An application's question still waiting for the applicant's answer (correlated with the
# Enrolment of the enclosing query).
OPEN_QUESTION: ColumnElement[bool] = (
    select(ScreeningQuestion.id)
    .where(ScreeningQuestion.enrolment_id == Enrolment.id, ScreeningQuestion.answered_at.is_(None))
    .exists()
)
# In medical review and waiting on a reviewer, or on the applicant; only while the session
# still runs (an application its session's closing or cancelling left in review is nobody's
# live place, and no reviewer is asked to read its screening).
_IN_REVIEW = and_(Enrolment.status == EnrolmentStatus.MEDICAL_REVIEW, LIVE_PLACE)
AWAITING_REVIEWER: ColumnElement[bool] = and_(_IN_REVIEW, ~OPEN_QUESTION)
AWAITING_APPLICANT: ColumnElement[bool] = and_(_IN_REVIEW, OPEN_QUESTION)


def not_their_own(reviewer_id: Any) -> ColumnElement[bool]:
    """An application a reviewer may screen: anyone's but their own (a reviewer who also
    trains here is screened by another). The queue, the staff home and the digest count it
    alike."""
    return Enrolment.user_id != reviewer_id


def review_state(status: EnrolmentStatus, question_open: bool) -> ReviewState | None:
    """Where an application in medical review waits (None once it is decided or withdrawn)."""
    if status != EnrolmentStatus.MEDICAL_REVIEW:
        return None
    return ReviewState.MORE_INFORMATION if question_open else ReviewState.AWAITING_REVIEWER


def _text(value: str, what: str) -> str:
    """A note, question or answer as stored: trimmed, not empty, within the limit."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"Write the {what}.")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"Keep the {what} under {MAX_MESSAGE} characters.")
    return text


def record_decision(
    session: Session,
    application: Enrolment,
    *,
    reviewer_id: int,
    verdict: Verdict,
    note: str,
    screening_key: str | None,
    revisited: bool = False,
) -> ReviewDecision:
    """Keep a decision with its note (encrypted; a first decision's note may be empty)."""
    note = (note or "").strip()
    if note:
        note = _text(note, "note")
    decision = ReviewDecision(
        enrolment_id=application.id,
        reviewer_id=reviewer_id,
        verdict=verdict,
        revisited=revisited,
        note_encrypted=encrypt_text(screening_key, note) if note else None,
        decided_at=utcnow(),
    )
    session.add(decision)
    return decision


def _open_question(session: Session, application_id: int) -> ScreeningQuestion | None:
    """The application's question waiting for an answer, if any."""
    return session.scalar(
        select(ScreeningQuestion).where(
            ScreeningQuestion.enrolment_id == application_id,
            ScreeningQuestion.answered_at.is_(None),
        )
    )


def ask_question(
    session: Session,
    application_id: int,
    *,
    reviewer_id: int,
    question: str,
    screening_key: str | None,
) -> ScreeningQuestion:
    """Ask the applicant for more information: the application waits for their answer."""
    text = _text(question, "question")
    token = encrypt_text(screening_key, text)  # a missing key refuses before anything is written
    application = application_for_reviewer(session, application_id, reviewer_id)
    refuse_unless_running(application)
    if application.status != EnrolmentStatus.MEDICAL_REVIEW:
        raise Conflict(
            f"This application is {application.status.label.lower()}; "
            "a question can be asked only while it is in medical review."
        )
    if _open_question(session, application.id) is not None:
        raise Conflict(QUESTION_WAITING)
    asked = ScreeningQuestion(
        enrolment_id=application.id,
        asked_by_id=reviewer_id,
        asked_at=utcnow(),
        question_encrypted=token,
    )
    session.add(asked)
    # Another reviewer may have asked at the same moment.
    flush_or_refuse(session, Conflict(QUESTION_WAITING))
    record_event_of(
        session,
        NOUN,
        application,
        "screening.question_asked",
        actor_id=reviewer_id,
        question_id=asked.id,
    )
    signals.screening_question_asked.send(application, session=session)
    return asked


def answer_question(
    session: Session,
    application_id: int,
    *,
    user_id: int,
    answer: str,
    screening_key: str | None,
) -> ScreeningQuestion:
    """The applicant answers the open question: the application goes back to the reviewers."""
    text = _text(answer, "answer")
    token = encrypt_text(screening_key, text)
    application = get_application(session, application_id)
    if application.user_id != user_id:
        raise NotFound("No such application.")
    if application.status != EnrolmentStatus.MEDICAL_REVIEW:
        raise Conflict(
            f"This application is {application.status.label.lower()}; no answer is needed now."
        )
    question = _open_question(session, application.id)
    if question is None or question.purged_at is not None:
        raise Conflict("No question is waiting for your answer.")
    now = utcnow()
    result = session.execute(
        update(ScreeningQuestion)
        .where(ScreeningQuestion.id == question.id, ScreeningQuestion.answered_at.is_(None))
        .values(answered_at=now, answer_encrypted=token)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyDecided("This question was answered meanwhile; reload the page.")
    session.refresh(question)
    record_event_of(
        session,
        NOUN,
        application,
        "screening.question_answered",
        actor_id=user_id,
        question_id=question.id,
    )
    return question


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ThreadEntry:
    """One line of a medical review's trail: a decision with its note, a question, an answer.

    `text` is None when the words were erased (retention or the person's erasure).
    """

    at: datetime
    kind: str  # "decision", "question" or "answer"
    who: str
    text: str | None
    verdict: Verdict | None = None
    revisited: bool = False


def _plain(screening_key: str | None, token: bytes | None) -> str | None:
    """Decrypted text, or None when there is none (erased, or a decision without a note)."""
    return decrypt_text(screening_key, token) if token is not None else None


def _questions(session: Session, application_id: int) -> list[ScreeningQuestion]:
    """An application's questions in the order they were asked."""
    return list(
        session.scalars(
            select(ScreeningQuestion)
            .options(joinedload(ScreeningQuestion.asked_by))
            .where(ScreeningQuestion.enrolment_id == application_id)
            .order_by(ScreeningQuestion.asked_at, ScreeningQuestion.id)
        )
    )


def review_thread(
    session: Session, application: Enrolment, *, screening_key: str | None
) -> list[ThreadEntry]:
    """Decisions, questions and answers of an application, oldest first (for reviewers only:
    the caller audits the view)."""
    applicant = application.user.name
    entries: list[ThreadEntry] = []
    for decision in session.scalars(
        select(ReviewDecision)
        .options(joinedload(ReviewDecision.reviewer))
        .where(ReviewDecision.enrolment_id == application.id)
    ):
        entries.append(
            ThreadEntry(
                at=decision.decided_at,
                kind="decision",
                who=decision.reviewer.name if decision.reviewer else "a former reviewer",
                text=_plain(screening_key, decision.note_encrypted),
                verdict=decision.verdict,
                revisited=decision.revisited,
            )
        )
    for question in _questions(session, application.id):
        entries.append(
            ThreadEntry(
                at=question.asked_at,
                kind="question",
                who=question.asked_by.name if question.asked_by else "a former reviewer",
                text=_plain(screening_key, question.question_encrypted),
            )
        )
        if question.answered_at is not None:
            entries.append(
                ThreadEntry(
                    at=question.answered_at,
                    kind="answer",
                    who=applicant,
                    text=_plain(screening_key, question.answer_encrypted),
                )
            )
    entries.sort(key=lambda entry: entry.at)
    return entries


@dataclass(frozen=True)
class Exchange:
    """A question to the applicant and their answer, as the applicant sees them."""

    asked_at: datetime
    question: str | None
    answered_at: datetime | None
    answer: str | None


@dataclass(frozen=True)
class ApplicantQuestions:
    """The applicant's page of an application's questions: each exchange, and whether one
    waits for their answer."""

    application: Enrolment
    exchanges: list[Exchange]
    state: ReviewState | None

    @property
    def can_answer(self) -> bool:
        """A question waits for the applicant and its words are still kept."""
        return (
            self.state == ReviewState.MORE_INFORMATION
            and bool(self.exchanges)
            and self.exchanges[-1].answered_at is None
            and self.exchanges[-1].question is not None
        )


def applicant_questions(
    session: Session, application_id: int, *, user_id: int, screening_key: str | None
) -> ApplicantQuestions:
    """The questions addressed to the applicant and their answers (their own application only;
    never the reviewers' notes)."""
    application = get_application(session, application_id)
    if application.user_id != user_id:
        raise NotFound("No such application.")
    questions = _questions(session, application.id)
    exchanges = [
        Exchange(
            asked_at=q.asked_at,
            question=_plain(screening_key, q.question_encrypted),
            answered_at=q.answered_at,
            answer=_plain(screening_key, q.answer_encrypted),
        )
        for q in questions
    ]
    question_open = any(q.answered_at is None for q in questions)
    return ApplicantQuestions(
        application=application,
        exchanges=exchanges,
        state=review_state(application.status, question_open),
    )


# --------------------------------------------------------------------------- erasing


def erase_review_texts(session: Session, enrolment_ids: Any, now: datetime) -> None:
    """Erase the notes, questions and answers of these applications (a select of their ids),
    keeping when each was written: retention and a person's erasure treat them like the
    screening answers."""
    session.execute(
        update(ReviewDecision)
        .where(
            ReviewDecision.purged_at.is_(None),
            ReviewDecision.enrolment_id.in_(enrolment_ids),
        )
        .values(note_encrypted=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ScreeningQuestion)
        .where(
            ScreeningQuestion.purged_at.is_(None),
            ScreeningQuestion.enrolment_id.in_(enrolment_ids),
        )
        .values(question_encrypted=None, answer_encrypted=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )

"""Medical screenings of retreat applications (health data, kept apart from everything else).

An application is an enrolment (`lms.offerings.models.Enrolment`) in an offering of a
retreat item; its screening answers live here, encrypted, readable by reviewers only, and so
do the reviewers' notes on their decisions and their questions to the applicant with the
answers (encrypted with the same key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.db import Base, cascading_key, partial_index, str_enum, utcnow
from lms.offerings.api import Enrolment
from lms.status import Status


class Screening(Base):
    """Encrypted medical-screening answers of one application. Readable by reviewers only."""

    __tablename__ = "screenings"

    enrolment_id: Mapped[int] = cascading_key("enrolments")
    answers_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    any_yes: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]

    enrolment: Mapped[Enrolment] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(answers_encrypted IS NULL) = (purged_at IS NOT NULL)", name="purged_has_no_answers"
        ),
    )

    def __repr__(self) -> str:
        """Never show the answers, even in a debugger or log line."""
        return f"<Screening enrolment={self.enrolment_id} purged={self.purged_at is not None}>"


class Verdict(Status):
    """A medical reviewer's decision on a screening (the words every page uses for it)."""

    CLEARED = "cleared", "Cleared", "ok"
    NOT_CLEARED = "not_cleared", "Not cleared", "bad"


class ReviewState(Status):
    """Where an application in medical review waits: on a reviewer, or on the applicant.

    The one place these words live; pages, the queue and the applicant's page read them here.
    """

    AWAITING_REVIEWER = "awaiting_reviewer", "Awaiting medical review", "info"
    MORE_INFORMATION = "more_information", "More information requested", "warn"


class ReviewDecision(Base):
    """One decision a medical reviewer made on a screening, with their note (encrypted).

    A screening's first decision and every later change of it (a revisit) each get a row, so
    the review page shows the trail. The note is health data: reviewers only, never exported.
    """

    __tablename__ = "screening_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict, "verdict"))
    revisited: Mapped[bool] = mapped_column(default=False)  # changed an earlier decision
    note_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]

    reviewer: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_screening_decisions_enrolment_id", "enrolment_id"),
        CheckConstraint("note_encrypted IS NULL OR purged_at IS NULL", name="purged_has_no_note"),
    )

    def __repr__(self) -> str:
        """Never show the note."""
        return f"<ReviewDecision enrolment={self.enrolment_id} verdict={self.verdict}>"


class ScreeningQuestion(Base):
    """A reviewer's question to the applicant and their answer (both encrypted).

    While a question has no answer the application waits for the applicant (more information
    requested); at most one question of an application is open at a time.
    """

    __tablename__ = "screening_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    question_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    answered_at: Mapped[datetime | None]
    answer_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None]

    asked_by: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_screening_questions_enrolment_id", "enrolment_id"),
        partial_index(
            "uq_screening_questions_open",
            "enrolment_id",
            unique=True,
            where="answered_at IS NULL",
        ),
        CheckConstraint(
            "(question_encrypted IS NULL) = (purged_at IS NOT NULL)",
            name="purged_has_no_question",
        ),
        CheckConstraint(
            "answer_encrypted IS NULL OR (answered_at IS NOT NULL AND purged_at IS NULL)",
            name="answer_is_answered",
        ),
        CheckConstraint(
            "answered_at IS NULL OR answer_encrypted IS NOT NULL OR purged_at IS NOT NULL",
            name="answered_has_answer",
        ),
    )

    def __repr__(self) -> str:
        """Never show the question or the answer."""
        return f"<ScreeningQuestion enrolment={self.enrolment_id} open={self.answered_at is None}>"

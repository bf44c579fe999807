"""Applications to retreat sessions and their medical screenings (health data, kept apart)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import RetreatSession
from lms.db import Base, str_enum, utcnow
from lms.status import Status


class ApplicationStatus(Status):
    """Where an application stands."""

    MEDICAL_REVIEW = "medical_review", "In medical review", "info"
    NOT_CLEARED = "not_cleared", "Not cleared", "bad"
    ACCEPTED = "accepted", "Accepted", "ok"
    WAITLISTED = "waitlisted", "Waitlisted", "warn"
    ATTENDED = "attended", "Attended", "ok"
    ABSENT = "absent", "Did not attend", "bad"
    WITHDRAWN = "withdrawn", "Withdrawn", ""


class Application(Base):
    """A clinician's application to one retreat session."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    session_id: Mapped[int] = mapped_column(ForeignKey("retreat_sessions.id", ondelete="RESTRICT"))
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus, "status"), default=ApplicationStatus.MEDICAL_REVIEW
    )
    low_risk: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    attendance_marked_at: Mapped[datetime | None]
    attendance_marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    session: Mapped[RetreatSession] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    screening: Mapped[Screening | None] = relationship(
        back_populates="application", uselist=False, lazy="raise"
    )

    __table_args__ = (
        Index(
            "uq_applications_live",
            "user_id",
            "session_id",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
        Index("ix_applications_session_id_status", "session_id", "status"),
        # A person's applications, whatever their status (dashboards, standings).
        Index("ix_applications_user_id", "user_id"),
    )


class Screening(Base):
    """Encrypted medical-screening answers of one application. Readable by reviewers only."""

    __tablename__ = "screenings"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    answers_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    any_yes: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="screening")

    __table_args__ = (
        CheckConstraint(
            "(answers_encrypted IS NULL) = (purged_at IS NOT NULL)", name="purged_has_no_answers"
        ),
    )

    def __repr__(self) -> str:
        """Never show the answers, even in a debugger or log line."""
        return f"<Screening application={self.application_id} purged={self.purged_at is not None}>"

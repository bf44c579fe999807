"""Enrolments and attendance: who holds, or waits for, a place in an offering (modules and
retreats alike), and who attended which of its days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import Offering
from lms.db import Base, str_enum, utcnow
from lms.status import Status


class EnrolmentStatus(Status):
    """Where an enrolment stands. Retreats add the medical-review step in front of a place."""

    MEDICAL_REVIEW = "medical_review", "In medical review", "info"
    NOT_CLEARED = "not_cleared", "Not cleared", "bad"
    ENROLLED = "enrolled", "Enrolled", "ok"
    WAITLISTED = "waitlisted", "Waitlisted", "warn"
    ATTENDED = "attended", "Attended", "ok"
    ABSENT = "absent", "Did not attend", "bad"
    WITHDRAWN = "withdrawn", "Withdrawn", ""


class EnrolmentSource(Status):
    """How an enrolment was made."""

    SELF = "self", "By the clinician", ""
    STAFF = "staff", "By staff", ""
    IMPORT = "import", "Imported from the shop", ""


# Statuses that hold one of the offering's places.
PLACE_HOLDING = (EnrolmentStatus.ENROLLED, EnrolmentStatus.ATTENDED, EnrolmentStatus.ABSENT)


class Enrolment(Base):
    """A clinician's place (or place in the queue) in one offering; for a retreat, the
    application that carries its screening."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        str_enum(EnrolmentStatus, "status"), default=EnrolmentStatus.MEDICAL_REVIEW
    )
    source: Mapped[EnrolmentSource] = mapped_column(
        str_enum(EnrolmentSource, "source"), default=EnrolmentSource.SELF
    )
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    low_risk: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it was made
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    attendance_marked_at: Mapped[datetime | None]
    attendance_marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reminded_at: Mapped[datetime | None]  # the "starts soon" reminder went out (once)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    offering: Mapped[Offering] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        Index(
            "uq_enrolments_live",
            "user_id",
            "offering_id",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
        Index("ix_enrolments_offering_id_status", "offering_id", "status"),
        # A person's enrolments, whatever their status (dashboards, standings).
        Index("ix_enrolments_user_id", "user_id"),
        # Each waitlist in promotion order: a place on it is a count of those ahead.
        Index(
            "ix_enrolments_waitlist",
            "offering_id",
            "applied_at",
            "id",
            sqlite_where=text("status = 'waitlisted'"),
            postgresql_where=text("status = 'waitlisted'"),
        ),
    )


class AttendanceSource(Status):
    """Where a day's attendance mark came from."""

    MANUAL = "manual", "Entered by hand", ""
    REPORT = "report", "From the participant report", "info"


class Attendance(Base):
    """Whether one enrolled person attended one day of an offering, and for how many minutes.

    A missing row means the day is not recorded for them yet (which closing reads as absent).
    """

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    offering_day_id: Mapped[int] = mapped_column(ForeignKey("offering_days.id", ondelete="CASCADE"))
    present: Mapped[bool]
    minutes: Mapped[int | None]
    source: Mapped[AttendanceSource] = mapped_column(str_enum(AttendanceSource, "source"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("enrolment_id", "offering_day_id", name="uq_attendance_enrolment_day"),
        CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"),
        # An offering's grid reads its days' rows.
        Index("ix_attendance_offering_day_id", "offering_day_id"),
    )


class ReportMatch(Status):
    """How a participant report's row was tied to an enrolment, if it was."""

    EMAIL = "email", "Matched by e-mail", "ok"
    HAND = "hand", "Matched by hand", "info"
    UNMATCHED = "unmatched", "Not matched", "warn"


class ParticipantRow(Base):
    """One person as a day's participant report lists them (their rejoins summed).

    Kept for every row of the last report imported for the day: rows matched by e-mail, and
    guests and unknown addresses for a facilitator to match by hand. A day's attendance from
    the report is the sum of the minutes of the rows matched to each enrolment.
    """

    __tablename__ = "participant_report_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_day_id: Mapped[int] = mapped_column(ForeignKey("offering_days.id", ondelete="CASCADE"))
    line: Mapped[int]  # the first line of the file this person appears on
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    minutes: Mapped[int]
    joins: Mapped[int] = mapped_column(default=1)  # rows of the file summed into this one
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE")
    )
    match: Mapped[ReportMatch] = mapped_column(
        str_enum(ReportMatch, "match"), default=ReportMatch.UNMATCHED
    )
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
        CheckConstraint("joins >= 1", name="joins_positive"),
        CheckConstraint(
            "(enrolment_id IS NULL) = (match = 'unmatched')", name="matched_has_enrolment"
        ),
        Index("ix_participant_report_rows_offering_day_id", "offering_day_id"),
    )

"""Enrolments: who holds, or waits for, a place in an offering (modules and retreats alike)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
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
    )

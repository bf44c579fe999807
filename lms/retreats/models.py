"""Medical screenings of retreat applications (health data, kept apart from everything else).

An application is an enrolment (`lms.offerings.models.Enrolment`) in an offering of a
retreat item; its screening answers live here, encrypted, readable by reviewers only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, cascading_key, utcnow
from lms.offerings.api import Enrolment


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

"""The Certificate of Training's own records: the de-identified session log and the documents.

The session log holds nothing that could tie a row to a person: the month and year (no day,
which HIPAA's Safe Harbor counts as an identifier), the clinician's role, a setting from a
fixed list, and a client code the tracker made at random. No free text anywhere.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.db import Base, str_enum, utcnow
from lms.status import Status


class SessionRole(Status):
    """The clinician's part in a KAP session; only sessions as therapist count."""

    THERAPIST = "therapist", "Therapist", ""
    CO_THERAPIST = "co_therapist", "Co-therapist", ""


class SessionSetting(Status):
    """Where the session took place: a short fixed list, never free text."""

    IN_PERSON = "in_person", "In person", ""
    ONLINE = "online", "Online", ""
    GROUP = "group", "Group, in person", ""
    GROUP_ONLINE = "group_online", "Group, online", ""


class ClientCode(Base):
    """A code the tracker made for one of a clinician's clients ("C-7KQ2"): nothing else."""

    __tablename__ = "training_client_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("uq_training_client_codes_user_code", "user_id", "code", unique=True),)


class SessionEntry(Base):
    """One KAP session a clinician logged: month, role, setting and a client code."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_code_id: Mapped[int] = mapped_column(
        ForeignKey("training_client_codes.id", ondelete="CASCADE")
    )
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    role: Mapped[SessionRole] = mapped_column(str_enum(SessionRole, "session_role"))
    setting: Mapped[SessionSetting] = mapped_column(str_enum(SessionSetting, "session_setting"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[ClientCode] = relationship()

    @property
    def month_on(self) -> date:
        """The first day of the session's month (the only date the log knows)."""
        return date(self.year, self.month, 1)

    __table_args__ = (
        Index("ix_training_sessions_user_id", "user_id"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_of_year"),
        CheckConstraint("year BETWEEN 1990 AND 2100", name="plausible_year"),
    )


class DocumentKind(Status):
    """The documents the Certificate of Training asks for."""

    REFLECTION_PAPER = "reflection_paper", "Reflection paper", ""
    RECOMMENDATION_LETTER = "recommendation_letter", "Letter of recommendation", ""


class DocumentStatus(Status):
    """Where one version of a document stands; only the newest version can be waiting."""

    SUBMITTED = "submitted", "Awaiting review", "info"
    CHANGES_REQUESTED = "changes_requested", "Changes asked for", "warn"
    APPROVED = "approved", "Approved", "ok"
    REPLACED = "replaced", "Replaced by a newer version", ""


class Uploader(Status):
    """Who uploaded a version: the clinician, or the consultant through their link."""

    CLINICIAN = "clinician", "Uploaded by the clinician", ""
    CONSULTANT = "consultant", "Uploaded by the consultant", ""


class TrainingDocument(Base):
    """One version of a clinician's document, its file and its review; every version is kept."""

    __tablename__ = "training_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"))
    version: Mapped[int]
    status: Mapped[DocumentStatus] = mapped_column(
        str_enum(DocumentStatus, "document_status"), default=DocumentStatus.SUBMITTED
    )
    # The file; emptied when the person's data is erased (the review record stays).
    file_key: Mapped[str | None] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int | None]
    uploaded_by: Mapped[Uploader] = mapped_column(str_enum(Uploader, "uploaded_by"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        Index("uq_training_documents_version", "user_id", "kind", "version", unique=True),
        # One version waiting or approved per clinician and kind.
        Index(
            "uq_training_documents_live",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'approved')"),
            postgresql_where=text("status IN ('submitted', 'approved')"),
        ),
        Index("ix_training_documents_status", "status", "uploaded_at"),
        CheckConstraint(
            "(status IN ('approved', 'changes_requested')) = (reviewed_at IS NOT NULL)",
            name="reviewed_when_decided",
        ),
        CheckConstraint(
            "status <> 'changes_requested' OR review_comment IS NOT NULL",
            name="changes_say_what",
        ),
        CheckConstraint("version >= 1", name="version_from_one"),
    )

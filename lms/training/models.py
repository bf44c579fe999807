"""Tables of the credential's requirement and of the consultation log: the credentials and the
versions of their rules, which version each candidate is held to, the approved consultants
and the consultations clinicians log with them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import ConsultationKind
from lms.db import Base, str_enum, utcnow
from lms.status import Status

MAX_HOURS = Decimal(24)
TOPIC_MAX = 120
COMMENT_MAX = 1000


class ConsultationState(Status):
    """Where a logged consultation stands; only a confirmed one counts."""

    AWAITING = "awaiting_confirmation", "Awaiting the consultant", "info"
    CONFIRMED = "confirmed", "Confirmed", "ok"
    DECLINED = "consultant_declined", "Declined by the consultant", "bad"
    VOIDED = "voided", "Voided by staff", ""


class Credential(Base):
    """A programme credential (the Certificate of Training): what its requirement is called."""

    __tablename__ = "training_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every candidate's kept standing is to be judged again since then (a job does it and
    # clears this: lms.training.standing_jobs); empty when the standings are current.
    standings_due_at: Mapped[datetime | None] = mapped_column()
    # While that job works (renewed at each of its steps): the sweep starts no second one.
    standings_claimed_at: Mapped[datetime | None] = mapped_column()


class RequirementVersion(Base):
    """One version of a credential's rule (a rule tree of lms.catalog.rules); never edited:
    a change is a new version, which new candidates start under."""

    __tablename__ = "training_requirement_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("training_credentials.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    credential: Mapped[Credential] = relationship()

    __table_args__ = (
        UniqueConstraint("credential_id", "number", name="one_number_per_credential"),
        CheckConstraint("number >= 1", name="number_positive"),
    )


class Candidate(Base):
    """A clinician working towards a credential, held to the version they started under."""

    __tablename__ = "training_candidates"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("training_credentials.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("training_requirement_versions.id", ondelete="RESTRICT")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when staff award the credential (cleared if the award is revoked).
    awarded_at: Mapped[datetime | None]
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    version: Mapped[RequirementVersion] = relationship()

    __table_args__ = (
        # The awarded few, which the staff queues leave out.
        Index("ix_training_candidates_awarded", "credential_id", "awarded_at"),
    )


class Consultant(Base):
    """An approved consultant the admin keeps: who may confirm consultations."""

    __tablename__ = "training_consultants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), unique=True)
    approved_on: Mapped[date] = mapped_column(Date)
    retired_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "retired_on IS NULL OR retired_on >= approved_on", name="retired_after_approved"
        ),
    )

    def approved_at(self, on: date) -> bool:
        """Was the consultant on the approved list on that day?"""
        return self.approved_on <= on and (self.retired_on is None or on < self.retired_on)

    @property
    def label(self) -> str:
        """Name and credentials, as lists show them."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


LIVE_STATES = (ConsultationState.AWAITING.value, ConsultationState.CONFIRMED.value)


class Consultation(Base):
    """A consultation a clinician logged; the consultant confirms or declines it."""

    __tablename__ = "training_consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    consultant_id: Mapped[int] = mapped_column(
        ForeignKey("training_consultants.id", ondelete="RESTRICT")
    )
    held_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[ConsultationKind] = mapped_column(str_enum(ConsultationKind, "kind"))
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), default="")
    # Whether the consultant was on the approved list on held_on, kept as it was when logged.
    consultant_was_approved: Mapped[bool]
    state: Mapped[ConsultationState] = mapped_column(
        str_enum(ConsultationState, "state"), default=ConsultationState.AWAITING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="")  # the consultant's, on a decline
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str] = mapped_column(Text, default="")

    consultant: Mapped[Consultant] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 24", name="hours_in_a_day"),
        # One live entry per clinician, consultant, day and kind: a second is a duplicate.
        Index(
            "uq_training_consultations_live",
            "user_id",
            "consultant_id",
            "held_on",
            "kind",
            unique=True,
            sqlite_where=text("state IN ('awaiting_confirmation', 'confirmed')"),
            postgresql_where=text("state IN ('awaiting_confirmation', 'confirmed')"),
        ),
        Index("ix_training_consultations_consultant_state", "consultant_id", "state"),
        Index("ix_training_consultations_user_id_held_on", "user_id", "held_on"),
        # Judging many people's confirmed consultations at once: without it SQLite's planner
        # takes the state index below and reads every confirmed row of the programme per chunk.
        Index("ix_training_consultations_user_id_state", "user_id", "state"),
        # The staff's "awaiting confirmation" queue: oldest first.
        Index("ix_training_consultations_state_created_at", "state", "created_at", "id"),
    )


class TrainingStanding(Base):
    """Where a candidate stands on the requirement they are held to, kept current by
    lms.training.standing so the staff queues are indexed reads. `met` is the verdict on the
    day it was judged; time alone can end it, so readers compare the kept dates with today:
    the window closes after `window_closes_on`, the licence stops counting on `lapses_on`
    (set only when the verdict depends on it)."""

    __tablename__ = "training_standings"

    user_id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(primary_key=True)
    met: Mapped[bool]
    parts_met: Mapped[int]
    parts_total: Mapped[int]
    first_event_on: Mapped[date | None] = mapped_column(Date)
    window_closes_on: Mapped[date | None] = mapped_column(Date)
    lapses_on: Mapped[date | None] = mapped_column(Date)
    judged_on: Mapped[date] = mapped_column(Date)
    # In the staff's queues at all: the account open, the credential not awarded.
    waiting: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "credential_id"],
            ["training_candidates.user_id", "training_candidates.credential_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("parts_met >= 0 AND parts_met <= parts_total", name="parts_met_in_range"),
        # Covering the queues' filters, so their counts read only the index.
        Index(
            "ix_training_standings_ready",
            "credential_id",
            "waiting",
            "met",
            "window_closes_on",
            "lapses_on",
        ),
        Index(
            "ix_training_standings_closing",
            "credential_id",
            "waiting",
            "window_closes_on",
            "met",
            "lapses_on",
        ),
    )


class DirectoryListing(Base):
    """A certified practitioner who opted in to the public directory: where they practise
    (city and state only). No row, no listing: everyone starts out of it."""

    __tablename__ = "training_directory_listings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(60))
    listed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

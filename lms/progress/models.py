"""Completions: the record that a clinician finished a catalogue item, and on which day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.db import Base, partial_index, str_enum, utcnow
from lms.i18n import translate
from lms.status import Status


class CompletionSource(StrEnum):
    """How a completion came to be recorded."""

    INSTRUCTOR = "instructor"
    IMPORT = "import"
    ATTENDANCE = "attendance"

    @property
    def label(self) -> str:
        """How staff read it, on a clinician's history and in the CE awards export alike
        (not a `Status`: "import" is worded otherwise for an enrolment's source)."""
        return translate(_COMPLETION_SOURCE_WORDS[self])


_COMPLETION_SOURCE_WORDS = {
    CompletionSource.INSTRUCTOR: "Marked by an instructor",
    CompletionSource.IMPORT: "Imported record",
    # Closing a module offering or marking a retreat's roster: the attendance was checked.
    CompletionSource.ATTENDANCE: "Verified attendance",
}


def awarded_hours(own: Decimal | None, item_hours: Decimal | None) -> Decimal | None:
    """The CE hours a completion is worth: its own when set (the hours an offering's days
    earned, partial credit), else the item's. Every sum and every print of hours uses this."""
    return own if own is not None else item_hours


def total_hours(awarded: Iterable[Decimal | None]) -> Decimal:
    """The CE hours of some completions added up (a person's, a transcript's, an offering
    record's): the one total, where a completion worth no hours counts 0."""
    return sum((hours for hours in awarded if hours is not None), Decimal(0))


class Completion(Base):
    """A clinician completed an item on a real date. Revoked, never deleted."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    completed_on: Mapped[date] = mapped_column(Date)
    source: Mapped[CompletionSource] = mapped_column(str_enum(CompletionSource, "source"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    # The offering whose attendance earned it (None: marked by hand or imported).
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("offerings.id", ondelete="SET NULL"))
    # CE hours awarded when they are not the item's (partial credit); None: the item's hours.
    ce_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    item: Mapped[CatalogItem] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    __table_args__ = (
        # At most one live completion per clinician and item, on every backend.
        partial_index(
            "uq_completions_live",
            "user_id",
            "item_id",
            unique=True,
            where="revoked_at IS NULL",
        ),
        Index("ix_completions_item_id", "item_id"),
        # An offering's attendance completions (its evaluation counts, reminders).
        Index("ix_completions_offering_id", "offering_id"),
        # Dashboards read a person's whole history, revoked rows included.
        Index("ix_completions_user_id", "user_id"),
        CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)", name="revocation_has_reason"
        ),
        CheckConstraint("ce_hours IS NULL OR ce_hours >= 0", name="ce_hours_not_negative"),
    )

    @hybrid_property
    def is_live(self) -> bool:
        """A completion counts until it is revoked: the one definition of "live", in Python
        and (on the class) in SQL, `Completion.is_live`, which every query uses."""
        return self.revoked_at is None

    @is_live.inplace.expression
    @classmethod
    def _is_live_expression(cls) -> ColumnElement[bool]:
        """SQL: the completion is live (what the partial index uq_completions_live covers)."""
        return cls.revoked_at.is_(None)

    @property
    def awarded_ce_hours(self) -> Decimal | None:
        """The CE hours this completion is worth (see `awarded_hours`)."""
        return awarded_hours(self.ce_hours, self.item.ce_hours)


class ItemState(Status):
    """Where a clinician stands with one catalogue item."""

    COMPLETED = "completed", "Completed", "ok"
    CREDITED = "credited", "Credited (equivalent approved)", "ok"
    AVAILABLE = "available", "Open", "info"
    LOCKED = "locked", "Locked", "warn"


class Standing(Base):
    """The read model: where one clinician stands with one active item, kept up to date.

    Every change to a fact (completion, equivalency decision, application, licence, role,
    catalogue rule) rewrites the affected rows in the same transaction (lms.progress.standings).
    The verdict is stored twice when the clinician's licence has an expiry date: as it is now,
    and as it will be from `lapses_on`, the first day the licence no longer counts; readers
    pick by the date, so a licence lapses at midnight without any write.
    """

    __tablename__ = "standings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_items.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[ItemState] = mapped_column(str_enum(ItemState, "state"))
    met: Mapped[bool]  # the prerequisite is met
    explanation: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list] = mapped_column(JSON, default=list)
    # The explanation as a list (lms.catalog.rules.Outline as JSON), for locked items.
    # Stored as SQL NULL when there is none (JSON's own null would be parsed on every read).
    outline: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    recommendation: Mapped[str] = mapped_column(Text, default="")
    completed_on: Mapped[date | None] = mapped_column(Date)
    completion_id: Mapped[int | None]
    pending_equivalency: Mapped[str] = mapped_column(Text, default="")
    applied: Mapped[bool] = mapped_column(default=False)  # a live (not withdrawn) application
    application_status: Mapped[str | None] = mapped_column(String(32))  # the most advanced one
    lapses_on: Mapped[date | None] = mapped_column(Date)
    lapsed_state: Mapped[ItemState | None] = mapped_column(str_enum(ItemState, "lapsed_state"))
    lapsed_met: Mapped[bool | None]
    lapsed_explanation: Mapped[str | None] = mapped_column(Text)
    lapsed_steps: Mapped[list | None] = mapped_column(JSON)
    lapsed_outline: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        # The roster's filters: one item's rows by verdict, covering what the filters test.
        Index(
            "ix_standings_item_met",
            "item_id",
            "met",
            "applied",
            "state",
            "lapses_on",
            "lapsed_met",
            "user_id",
        ),
        Index("ix_standings_item_state", "item_id", "state", "user_id"),
        Index("ix_standings_lapses_on", "lapses_on"),
    )


class ProgressSummary(Base):
    """The read model's per-clinician line: what the roster shows and sorts by."""

    __tablename__ = "progress_summaries"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sort_name: Mapped[str] = mapped_column(String(200))  # lower-cased name: the roster's order
    modules_done: Mapped[int] = mapped_column(default=0)
    ce_hours: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    licensed: Mapped[bool] = mapped_column(default=False)
    lapses_on: Mapped[date | None] = mapped_column(Date)
    last_activity_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_progress_summaries_sort", "sort_name", "user_id"),
        Index("ix_progress_summaries_lapses_on", "lapses_on"),
    )

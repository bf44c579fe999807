"""Completions: the record that a clinician finished a catalogue item, and on which day."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import CatalogItem
from lms.db import Base, str_enum, utcnow


class CompletionSource(StrEnum):
    """How a completion came to be recorded."""

    INSTRUCTOR = "instructor"
    IMPORT = "import"
    ATTENDANCE = "attendance"


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

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    item: Mapped[CatalogItem] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    __table_args__ = (
        # At most one live completion per clinician and item, on every backend.
        Index(
            "uq_completions_live",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_completions_item_id", "item_id"),
        # Dashboards read a person's whole history, revoked rows included.
        Index("ix_completions_user_id", "user_id"),
        CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)", name="revocation_has_reason"
        ),
    )

    @property
    def is_live(self) -> bool:
        """A completion counts until it is revoked."""
        return self.revoked_at is None

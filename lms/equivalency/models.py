"""Requests that training done elsewhere count for a catalogue item."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import CatalogItem, ConsultationKind
from lms.db import Base, str_enum, utcnow
from lms.status import Status


class EquivalencyStatus(Status):
    """Where a request stands; pending is the only state that can change."""

    PENDING = "pending", "Pending approval", "info"
    APPROVED = "approved", "Approved", "ok"
    DECLINED = "declined", "Declined", "bad"
    WITHDRAWN = "withdrawn", "Withdrawn", ""


class HoursCheck(Status):
    """How the hours a clinician claims compare with the catalogue's hours for the item."""

    ENOUGH = "enough", "Covers the module's hours", "ok"
    SHORT = "short", "Fewer hours than the module", "bad"
    UNKNOWN = "unknown", "Not compared", ""


def compare_hours(claimed: Decimal | None, required: Decimal | None) -> HoursCheck:
    """The one rule: short when the claim is below the item's catalogue hours; not compared
    when either is missing (no hours claimed, or an item with no hours in the catalogue)."""
    if claimed is None or required is None:
        return HoursCheck.UNKNOWN
    return HoursCheck.SHORT if claimed < required else HoursCheck.ENOUGH


# Credit for consultations held with another programme: at most this many in one request
# (the requirement asks 12 of a kind), and on average at most a day's hours each.
MAX_CREDITED_CONSULTATIONS = 12
MAX_HOURS_PER_CONSULTATION = Decimal(24)


class EquivalencyRequest(Base):
    """A clinician's reviewed request, with evidence, that outside training count: for a
    catalogue item, or as a number of group or individual consultations (`consultation_kind`,
    `consultations` and `hours`; no item) that the Certificate of Training counts once
    approved."""

    __tablename__ = "equivalency_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    consultation_kind: Mapped[ConsultationKind | None] = mapped_column(
        str_enum(ConsultationKind, "consultation_kind")
    )
    consultations: Mapped[int | None]
    outside_programme: Mapped[str] = mapped_column(String(200))
    attended_from: Mapped[date | None] = mapped_column(Date)
    attended_to: Mapped[date | None] = mapped_column(Date)
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    description: Mapped[str] = mapped_column(Text, default="")
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    evidence_key: Mapped[str | None] = mapped_column(String(100))
    evidence_type: Mapped[str | None] = mapped_column(String(60))
    evidence_size: Mapped[int | None]
    status: Mapped[EquivalencyStatus] = mapped_column(
        str_enum(EquivalencyStatus, "status"), default=EquivalencyStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    item: Mapped[CatalogItem | None] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    @property
    def hours_check(self) -> HoursCheck:
        """The claimed hours against the item's hours in the catalogue (consultation credit
        has no item to compare with)."""
        return compare_hours(self.hours, self.item.ce_hours if self.item else None)

    @property
    def counts_for(self) -> str:
        """What the request would count for, in words: the item's title, or "4 group
        consultations"."""
        if self.item is not None:
            return self.item.title
        kind = (self.consultation_kind.label if self.consultation_kind else "").lower()
        return f"{self.consultations} {kind}{'' if self.consultations == 1 else 's'}"

    __table_args__ = (
        # One open or granted request per clinician and item.
        Index(
            "uq_equivalency_requests_live",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_equivalency_requests_status", "status"),
        # A person's requests, whatever their status (dashboards, standings).
        Index("ix_equivalency_requests_user_id", "user_id"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_unless_pending"
        ),
        # Either an item, or consultations (a kind, how many, their hours): never both.
        CheckConstraint(
            "(item_id IS NULL) = (consultation_kind IS NOT NULL)", name="item_or_consultations"
        ),
        CheckConstraint(
            "consultation_kind IS NULL OR (consultations BETWEEN 1 AND 12 AND hours > 0 "
            "AND hours <= consultations * 24)",
            name="consultations_in_range",
        ),
    )

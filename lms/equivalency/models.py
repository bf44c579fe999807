"""Requests that training done elsewhere count for a catalogue item."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.db import Base, str_enum, utcnow
from lms.status import Status


class EquivalencyStatus(Status):
    """Where a request stands; pending is the only state that can change."""

    PENDING = "pending", "Pending approval", "info"
    APPROVED = "approved", "Approved", "ok"
    DECLINED = "declined", "Declined", "bad"
    WITHDRAWN = "withdrawn", "Withdrawn", ""


class EquivalencyRequest(Base):
    """A clinician's reviewed request, with evidence, that outside training count for an item."""

    __tablename__ = "equivalency_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
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
    item: Mapped[CatalogItem] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

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
    )

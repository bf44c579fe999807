"""The catalogue: modules and retreats, their rules, retreat sessions and programme settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, str_enum, utcnow


class ItemKind(StrEnum):
    """What a catalogue item is."""

    CORE_MODULE = "core_module"
    SPECIALTY_MODULE = "specialty_module"
    RETREAT = "retreat"

    @property
    def label(self) -> str:
        """Human name of the kind."""
        return {
            "core_module": "Core module",
            "specialty_module": "Specialty module",
            "retreat": "Retreat",
        }[self.value]


class CatalogItem(Base):
    """A module or retreat a clinician can complete."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, "kind"))
    title: Mapped[str] = mapped_column(String(200))
    short_title: Mapped[str] = mapped_column(String(80), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(80), default="")
    ce_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    position: Mapped[int] = mapped_column(default=0)
    prerequisite: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recommended: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recommended_note: Mapped[str] = mapped_column(String(300), default="")
    equivalent_label: Mapped[str] = mapped_column(String(200), default="")
    certificate_design: Mapped[str] = mapped_column(String(40), default="module")
    certificate_valid_months: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[RetreatSession]] = relationship(
        back_populates="item", order_by="RetreatSession.starts_on"
    )

    __table_args__ = (
        CheckConstraint("ce_hours IS NULL OR ce_hours >= 0", name="ce_hours_not_negative"),
        CheckConstraint("kind != 'retreat' OR ce_hours IS NULL", name="no_ce_for_retreats"),
    )

    @property
    def is_retreat(self) -> bool:
        """Retreats have sessions and no CE hours."""
        return self.kind == ItemKind.RETREAT


class RetreatSession(Base):
    """One dated, located, capacity-limited run of a retreat."""

    __tablename__ = "retreat_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int]
    application_deadline: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[CatalogItem] = relationship(back_populates="sessions")

    __table_args__ = (
        UniqueConstraint("item_id", "starts_on", "location", name="uq_retreat_sessions_item_start"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )


class ProgrammeSetting(Base):
    """A programme-wide value from the catalogue file (provider, accreditation, signatory...)."""

    __tablename__ = "programme_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)

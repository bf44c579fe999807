"""The catalogue: modules and retreats with their rules, and the catalogue's version."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, str_enum, utcnow
from lms.programme import ProgrammeSetting  # noqa: F401 - the catalogue file fills it

if TYPE_CHECKING:  # the relationship names the class; lms.offerings stands above catalog
    from lms.offerings.api import Offering


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
    # The activity ID certificates print (an accreditor's or the provider's own; "" for none).
    activity_id: Mapped[str] = mapped_column(String(60), default="", server_default=text("''"))
    certificate_design: Mapped[str] = mapped_column(String(40), default="module")
    certificate_valid_months: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    # The evaluation (lms.catalog.evaluation_form): learning objectives to rate, and whether
    # a certificate earned by attending an offering waits for the evaluation.
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    evaluation_required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # The item's dated runs (lms.offerings owns them; named, not imported, from here).
    offerings: Mapped[list[Offering]] = relationship(
        "Offering", back_populates="item", order_by="Offering.starts_on"
    )

    __table_args__ = (
        CheckConstraint("ce_hours IS NULL OR ce_hours >= 0", name="ce_hours_not_negative"),
        CheckConstraint("kind != 'retreat' OR ce_hours IS NULL", name="no_ce_for_retreats"),
    )

    @property
    def is_retreat(self) -> bool:
        """Retreats have no CE hours and keep an application step before a place."""
        return self.kind == ItemKind.RETREAT


class CatalogueVersion(Base):
    """One number the database adds one to whenever a catalogue item is inserted, updated or
    deleted (triggers on catalog_items, migration 0011): what a process compares to know that
    the copy of the catalogue it keeps is still current."""

    __tablename__ = "catalogue_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)

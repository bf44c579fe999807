"""The catalogue: modules and retreats, their rules, their dated offerings, programme settings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, str_enum, utcnow
from lms.programme import ProgrammeSetting  # noqa: F401 - the catalogue file fills it
from lms.status import Status


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
    # The evaluation (lms.catalog.evaluation_form): learning objectives to rate, and whether
    # a certificate earned by attending an offering waits for the evaluation.
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    evaluation_required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    offerings: Mapped[list[Offering]] = relationship(
        back_populates="item", order_by="Offering.starts_on"
    )

    __table_args__ = (
        CheckConstraint("ce_hours IS NULL OR ce_hours >= 0", name="ce_hours_not_negative"),
        CheckConstraint("kind != 'retreat' OR ce_hours IS NULL", name="no_ce_for_retreats"),
    )

    @property
    def is_retreat(self) -> bool:
        """Retreats have no CE hours and keep an application step before a place."""
        return self.kind == ItemKind.RETREAT


def last_day_to_enrol(starts_on: date, enrolment_deadline: date | None) -> date:
    """The one rule for the last day to enrol: the deadline when set, else the eve of the
    first day."""
    return enrolment_deadline or starts_on - timedelta(days=1)


class OfferingStatus(Status):
    """Where a dated run of an item stands, as stored ("in progress" is read from the dates)."""

    SCHEDULED = "scheduled", "Scheduled", "info"
    IN_PROGRESS = "in_progress", "In progress", "info"  # never stored: see Offering.state
    ENDED = "ended", "Ended, to be closed", "warn"  # never stored: the last day has passed
    CLOSED = "closed", "Closed", "ok"
    CANCELLED = "cancelled", "Cancelled", "bad"


class JoinRefusal(StrEnum):
    """Why an offering takes nobody new on a day (each page words it for modules or retreats)."""

    CANCELLED = "cancelled"
    CLOSED = "closed"
    STARTED = "started"
    DEADLINE_PASSED = "deadline passed"


class OfferingFormat(Status):
    """How an offering is delivered."""

    LIVE_ONLINE = "live_online", "Live online", ""
    IN_PERSON = "in_person", "In person", ""


class Offering(Base):
    """One dated, capacity-limited run of a module or a retreat (a retreat "session").

    `starts_on` and `ends_on` summarise the offering's days; they are written only by
    `lms.catalog.offerings.set_days`, in the same flush as the days themselves, so lists and
    deadlines can sort and filter by them without reading every day.
    """

    __tablename__ = "offerings"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    status: Mapped[OfferingStatus] = mapped_column(
        str_enum(OfferingStatus, "status"), default=OfferingStatus.SCHEDULED
    )
    format: Mapped[OfferingFormat] = mapped_column(
        str_enum(OfferingFormat, "format"), default=OfferingFormat.IN_PERSON
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(200), default="")
    # Shown to enrolled people only (and staff); never in lists, exports or public pages.
    join_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int]
    enrolment_deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    item: Mapped[CatalogItem] = relationship(back_populates="offerings")
    days: Mapped[list[OfferingDay]] = relationship(
        back_populates="offering",
        order_by="OfferingDay.held_on",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    facilitators: Mapped[list[OfferingFacilitator]] = relationship(
        back_populates="offering", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("item_id", "starts_on", "location", name="uq_offerings_item_start"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint(
            "status IN ('scheduled', 'closed', 'cancelled')", name="stored_status_only"
        ),
        Index("ix_offerings_starts_on", "starts_on"),
    )

    @property
    def active(self) -> bool:
        """Not cancelled: listed, and open to enrolment until its deadline or its start."""
        return self.status != OfferingStatus.CANCELLED

    def state(self, today: date) -> OfferingStatus:
        """The status as people read it on `today`: a scheduled run whose days have begun is
        in progress, and once its last day has passed it has ended, until it is closed."""
        if self.status == OfferingStatus.SCHEDULED and self.ends_on < today:
            return OfferingStatus.ENDED
        if self.status == OfferingStatus.SCHEDULED and self.starts_on <= today:
            return OfferingStatus.IN_PROGRESS
        return self.status

    def deadline(self) -> date:
        """The last day to enrol: the deadline when set, else the day before the first day."""
        return last_day_to_enrol(self.starts_on, self.enrolment_deadline)

    def refusal_to_join(self, today: date, *, by_staff: bool = False) -> JoinRefusal | None:
        """Why nobody new may join on the programme date `today` (None: they may): the one
        rule of a module enrolment and a retreat application alike, before the person's own
        (the item's prerequisite: training, licence, screening). Staff may still enrol after
        the deadline (a late registration), never once the offering has started."""
        if self.status == OfferingStatus.CANCELLED:
            return JoinRefusal.CANCELLED
        if self.status == OfferingStatus.CLOSED:
            return JoinRefusal.CLOSED
        if self.starts_on <= today:
            return JoinRefusal.STARTED
        if not by_staff and today > self.deadline():
            return JoinRefusal.DEADLINE_PASSED
        return None


class OfferingDay(Base):
    """One day of an offering: its date, its hours in the programme's time zone, its CE hours."""

    __tablename__ = "offering_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    held_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[time | None] = mapped_column(Time)
    ends_at: Mapped[time | None] = mapped_column(Time)
    ce_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))

    offering: Mapped[Offering] = relationship(back_populates="days")

    __table_args__ = (
        UniqueConstraint("offering_id", "held_on", name="uq_offering_days_offering_held_on"),
        CheckConstraint("(starts_at IS NULL) = (ends_at IS NULL)", name="times_together"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("ce_hours IS NULL OR ce_hours >= 0", name="ce_hours_not_negative"),
    )

    @property
    def minutes(self) -> int | None:
        """How long the day runs, in minutes (None when its hours are not set)."""
        if self.starts_at is None or self.ends_at is None:
            return None
        start = self.starts_at.hour * 60 + self.starts_at.minute
        return self.ends_at.hour * 60 + self.ends_at.minute - start


class OfferingFacilitator(Base):
    """An instructor who runs an offering (takes its attendance, sees its evaluations)."""

    __tablename__ = "offering_facilitators"

    offering_id: Mapped[int] = mapped_column(
        ForeignKey("offerings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )

    offering: Mapped[Offering] = relationship(back_populates="facilitators")


class CatalogueVersion(Base):
    """One number the database adds one to whenever a catalogue item is inserted, updated or
    deleted (triggers on catalog_items, migration 0011): what a process compares to know that
    the copy of the catalogue it keeps is still current."""

    __tablename__ = "catalogue_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)

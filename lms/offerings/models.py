"""Offerings and who takes part: a dated run of a module or a retreat (its days and its
facilitators), who holds, or waits for, a place in it (modules and retreats alike), and who
attended which of its days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Time,
    UniqueConstraint,
    and_,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.db import Base, cascading_key, partial_index, str_enum, utcnow
from lms.status import Status


def last_day_to_enrol(starts_on: date, enrolment_deadline: date | None) -> date:
    """The one rule for the last day to enrol: the deadline when set, else the eve of the
    first day."""
    return enrolment_deadline or starts_on - timedelta(days=1)


def begun(starts_on: Any, today: Any) -> Any:
    """Whether a run whose first day is `starts_on` has begun on the programme date `today`:
    its first day has come. Dates give a bool; a column and a parameter give the SQL (the one
    comparison of Offering.started, in Python and in lists' queries alike)."""
    return starts_on <= today


def over(ends_on: Any, today: Any) -> Any:
    """Whether a run whose last day is `ends_on` is over on `today` (dates or SQL, as `begun`)."""
    return ends_on < today


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


def join_refusal(
    status: OfferingStatus,
    starts_on: date,
    deadline: date,
    today: date,
    *,
    by_staff: bool = False,
) -> JoinRefusal | None:
    """Why nobody new may join a run on the programme date `today` (None: they may), from its
    plain values: the rule of Offering.refusal_to_join, which lists of plain rows ask too.
    A clinician's own enrolment closes at the deadline; staff enrol (a late registration, a
    walk-in on the day, a shop row that came late) until the run is closed."""
    if status == OfferingStatus.CANCELLED:
        return JoinRefusal.CANCELLED
    if status == OfferingStatus.CLOSED:
        return JoinRefusal.CLOSED
    if by_staff:
        return None
    if begun(starts_on, today):
        return JoinRefusal.STARTED
    if today > deadline:
        return JoinRefusal.DEADLINE_PASSED
    return None


class OfferingFormat(Status):
    """How an offering is delivered."""

    LIVE_ONLINE = "live_online", "Live online", ""
    IN_PERSON = "in_person", "In person", ""


class Offering(Base):
    """One dated, capacity-limited run of a module or a retreat (a retreat "session").

    `starts_on` and `ends_on` summarise the offering's days; they are written only by
    `lms.offerings.days.set_days`, in the same flush as the days themselves, so lists and
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
    # The iCalendar SEQUENCE of every calendar file of this offering: raised by each change
    # its people are told about (lms.offerings.rescheduling), so calendars move the event.
    calendar_sequence: Mapped[int] = mapped_column(default=0)

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
        CheckConstraint("calendar_sequence >= 0", name="calendar_sequence_not_negative"),
        CheckConstraint(
            "status IN ('scheduled', 'closed', 'cancelled')", name="stored_status_only"
        ),
        Index("ix_offerings_starts_on", "starts_on"),
    )

    @property
    def active(self) -> bool:
        """Not cancelled: listed, and open to enrolment until its deadline or its start."""
        return self.status != OfferingStatus.CANCELLED

    @hybrid_method
    def started(self, today: date) -> bool:
        """Its first day has come on the programme date `today` (SQL too, for lists)."""
        return begun(self.starts_on, today)

    @hybrid_method
    def ended(self, today: date) -> bool:
        """Its last day has passed on the programme date `today` (SQL too, for lists)."""
        return over(self.ends_on, today)

    @hybrid_method
    def upcoming(self, today: date) -> bool:
        """It reads as scheduled on `today`: not cancelled or closed, and not started. What
        every list of dates still to come shows (the SQL twin is `_upcoming_sql`, kept equal
        by tests/integration/test_offering_dates.py)."""
        return self.state(today) is OfferingStatus.SCHEDULED

    @upcoming.expression
    def _upcoming_sql(cls, today: Any) -> ColumnElement[bool]:
        """SQL: Offering.upcoming, in a list's WHERE (the first-day index serves it)."""
        return and_(cls.status == OfferingStatus.SCHEDULED, not_(begun(cls.starts_on, today)))

    def state(self, today: date) -> OfferingStatus:
        """The status as people read it on `today`: a scheduled run whose days have begun is
        in progress, and once its last day has passed it has ended, until it is closed."""
        if self.to_close(today):
            return OfferingStatus.ENDED
        if self.status == OfferingStatus.SCHEDULED and self.started(today):
            return OfferingStatus.IN_PROGRESS
        return self.status

    @hybrid_method
    def to_close(self, today: date) -> bool:
        """Its last day is over and nobody closed it (`state` says ENDED, to be closed). The
        same expression filters in SQL (the staff's "to close", the staff home, the digest)."""
        return (self.status == OfferingStatus.SCHEDULED) & over(self.ends_on, today)

    @hybrid_method
    def attendance_open(self, today: date) -> bool:
        """Attendance can be marked and the offering closed: from its last day on until it is
        closed, never once cancelled. In Python and, as the same expression, in SQL."""
        return (self.status == OfferingStatus.SCHEDULED) & begun(self.ends_on, today)

    def deadline(self) -> date:
        """The last day to enrol: the deadline when set, else the day before the first day."""
        return last_day_to_enrol(self.starts_on, self.enrolment_deadline)

    def refusal_to_join(self, today: date, *, by_staff: bool = False) -> JoinRefusal | None:
        """Why nobody new may join on the programme date `today` (None: they may): the one
        rule of a module enrolment and a retreat application alike, before the person's own
        (the item's prerequisite: training, licence, screening), and of every page and list
        that offers a place or says when enrolment closes (lms.offerings.models.join_refusal)."""
        return join_refusal(self.status, self.starts_on, self.deadline(), today, by_staff=by_staff)


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

    offering_id: Mapped[int] = cascading_key("offerings")
    user_id: Mapped[int] = cascading_key("users")

    offering: Mapped[Offering] = relationship(back_populates="facilitators")


class EnrolmentStatus(Status):
    """Where an enrolment stands. Retreats add the medical-review step in front of a place."""

    MEDICAL_REVIEW = "medical_review", "In medical review", "info"
    NOT_CLEARED = "not_cleared", "Not cleared", "bad"
    ENROLLED = "enrolled", "Enrolled", "ok"
    WAITLISTED = "waitlisted", "Waitlisted", "warn"
    ATTENDED = "attended", "Attended", "ok"
    ABSENT = "absent", "Did not attend", "bad"
    WITHDRAWN = "withdrawn", "Withdrawn", ""


class EnrolmentSource(Status):
    """How an enrolment was made."""

    SELF = "self", "By the clinician", ""
    STAFF = "staff", "By staff", ""
    IMPORT = "import", "Imported from the shop", ""


# Statuses that hold one of the offering's places.
PLACE_HOLDING = (EnrolmentStatus.ENROLLED, EnrolmentStatus.ATTENDED, EnrolmentStatus.ABSENT)
# What closing settles for each place held: the outcome of a session that ran.
SETTLED = (EnrolmentStatus.ATTENDED, EnrolmentStatus.ABSENT)
# An offering that no longer runs: closed (its days are over and settled) or cancelled.
NO_LONGER_RUNNING = (OfferingStatus.CLOSED, OfferingStatus.CANCELLED)


def holds_live_place(status: str, offering_status: str) -> bool:
    """Whether an enrolment (a module place, a retreat application, a place on a waitlist or
    in medical review) is the person's live place with the item: the one rule that the
    standings, the dashboard, the retreats page and the roster ask.

    Withdrawn is never one. An offering closed or cancelled keeps its enrolments on record, but
    those it did not settle are nobody's place any more: a waitlist place or an application
    still in review when the session ran and was closed, a place in a session called off. What
    was settled (attended, absent: by closing, or marked on a roster before a cancelling) stays
    the person's, as it was.
    """
    if status == EnrolmentStatus.WITHDRAWN:
        return False
    return status in SETTLED or offering_status not in NO_LONGER_RUNNING


class Enrolment(Base):
    """A clinician's place (or place in the queue) in one offering; for a retreat, the
    application that carries its screening."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        str_enum(EnrolmentStatus, "status"), default=EnrolmentStatus.MEDICAL_REVIEW
    )
    source: Mapped[EnrolmentSource] = mapped_column(
        str_enum(EnrolmentSource, "source"), default=EnrolmentSource.SELF
    )
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    low_risk: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it was made
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    attendance_marked_at: Mapped[datetime | None]
    attendance_marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reminded_at: Mapped[datetime | None]  # the "starts soon" reminder went out (once)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    offering: Mapped[Offering] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        partial_index(
            "uq_enrolments_live",
            "user_id",
            "offering_id",
            unique=True,
            where="status != 'withdrawn'",
        ),
        Index("ix_enrolments_offering_id_status", "offering_id", "status"),
        # A person's enrolments, whatever their status (dashboards, standings).
        Index("ix_enrolments_user_id", "user_id"),
        # Each waitlist in promotion order: a place on it is a count of those ahead.
        partial_index(
            "ix_enrolments_waitlist",
            "offering_id",
            "applied_at",
            "id",
            where="status = 'waitlisted'",
        ),
    )


# `holds_live_place` in SQL, correlated with the Enrolment of the enclosing query (tested
# equal to it for every pair of statuses): the medical-review queue, the staff home, the
# digest and a revised screening decision ask it in their WHERE.
LIVE_PLACE: ColumnElement[bool] = and_(
    Enrolment.status != EnrolmentStatus.WITHDRAWN,
    or_(
        Enrolment.status.in_(SETTLED),
        select(Offering.id)
        .where(Offering.id == Enrolment.offering_id, Offering.status.not_in(NO_LONGER_RUNNING))
        .correlate(Enrolment)  # a query that joins Offering itself still reads its own here
        .exists(),
    ),
)


class AttendanceSource(Status):
    """Where a day's attendance mark came from."""

    MANUAL = "manual", "Entered by hand", ""
    REPORT = "report", "From the participant report", "info"


class Attendance(Base):
    """Whether one enrolled person attended one day of an offering, and for how many minutes.

    A missing row means the day is not recorded for them yet (which closing reads as absent).
    """

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    offering_day_id: Mapped[int] = mapped_column(ForeignKey("offering_days.id", ondelete="CASCADE"))
    present: Mapped[bool]
    minutes: Mapped[int | None]
    source: Mapped[AttendanceSource] = mapped_column(str_enum(AttendanceSource, "source"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("enrolment_id", "offering_day_id", name="uq_attendance_enrolment_day"),
        CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"),
        # An offering's grid reads its days' rows.
        Index("ix_attendance_offering_day_id", "offering_day_id"),
    )


class ReportMatch(Status):
    """How a participant report's row was tied to an enrolment, if it was."""

    EMAIL = "email", "Matched by e-mail", "ok"
    HAND = "hand", "Matched by hand", "info"
    UNMATCHED = "unmatched", "Not matched", "warn"


class ParticipantRow(Base):
    """One person as a day's participant report lists them (their rejoins summed).

    Kept for every row of the last report imported for the day: rows matched by e-mail, and
    guests and unknown addresses for a facilitator to match by hand. A day's attendance from
    the report is the sum of the minutes of the rows matched to each enrolment.
    """

    __tablename__ = "participant_report_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_day_id: Mapped[int] = mapped_column(ForeignKey("offering_days.id", ondelete="CASCADE"))
    line: Mapped[int]  # the first line of the file this person appears on
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    minutes: Mapped[int]
    joins: Mapped[int] = mapped_column(default=1)  # rows of the file summed into this one
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE")
    )
    match: Mapped[ReportMatch] = mapped_column(
        str_enum(ReportMatch, "match"), default=ReportMatch.UNMATCHED
    )
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
        CheckConstraint("joins >= 1", name="joins_positive"),
        CheckConstraint(
            "(enrolment_id IS NULL) = (match = 'unmatched')", name="matched_has_enrolment"
        ),
        Index("ix_participant_report_rows_offering_day_id", "offering_day_id"),
    )

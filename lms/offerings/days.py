"""An offering's days: the one place that writes them and the date range that summarises them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement

from lms import dates
from lms.errors import InvalidInput
from lms.offerings.models import Offering, OfferingDay, OfferingFormat, OfferingStatus

MAX_DAYS = 31  # a retreat runs five days, a module one to three: a month is a typing error


@dataclass(frozen=True)
class DaySpec:
    """One day of an offering as a form, the catalogue file or a migration gives it."""

    held_on: date
    starts_at: time | None = None
    ends_at: time | None = None
    ce_hours: Decimal | None = None


def listed() -> ColumnElement[bool]:
    """SQL: the offering is not cancelled (shown in lists, open to enrolment in its window)."""
    return Offering.status != OfferingStatus.CANCELLED


def asked_status(cancelled: bool, current: OfferingStatus | None) -> OfferingStatus:
    """The status an offering's values ask for (a form's or the catalogue file's): cancelled
    when they say so, otherwise scheduled; a closed offering stays closed."""
    if cancelled:
        return OfferingStatus.CANCELLED
    if current == OfferingStatus.CLOSED:
        return current
    return OfferingStatus.SCHEDULED


def every_day(starts_on: date, ends_on: date) -> list[DaySpec]:
    """A day per date from the first to the last, hours and CE hours not given."""
    if ends_on < starts_on:
        raise InvalidInput("The last day cannot be before the first day.")
    count = (ends_on - starts_on).days + 1
    if count > MAX_DAYS:
        raise InvalidInput(f"An offering runs at most {MAX_DAYS} days; this one has {count}.")
    return [DaySpec(starts_on + timedelta(days=n)) for n in range(count)]


def check_days(days: Sequence[DaySpec]) -> list[DaySpec]:
    """The days in date order, or InvalidInput naming the first problem."""
    if not days:
        raise InvalidInput("An offering needs at least one day.")
    if len(days) > MAX_DAYS:
        raise InvalidInput(f"An offering runs at most {MAX_DAYS} days; this one has {len(days)}.")
    ordered = sorted(days, key=lambda d: d.held_on)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.held_on == after.held_on:
            raise InvalidInput(f"{dates.day(after.held_on)} is listed twice.")
    for day in ordered:
        if (day.starts_at is None) != (day.ends_at is None):
            raise InvalidInput(
                f"{dates.day(day.held_on)}: give both the start and the end time, or neither."
            )
        if day.starts_at is not None and day.ends_at <= day.starts_at:
            raise InvalidInput(
                f"{dates.day(day.held_on)}: the end time must be after the start time."
            )
        if day.ce_hours is not None and not Decimal(0) <= day.ce_hours <= Decimal(24):
            raise InvalidInput(f"{dates.day(day.held_on)}: CE hours must be between 0 and 24.")
    return ordered


def check_format(format_: OfferingFormat, days: Sequence[DaySpec], location: str) -> None:
    """The rules a format puts on the days and the place (InvalidInput naming the first)."""
    if format_ == OfferingFormat.IN_PERSON and not location:
        raise InvalidInput("Enter where the offering takes place.")
    if format_ == OfferingFormat.LIVE_ONLINE and any(d.starts_at is None for d in days):
        raise InvalidInput(
            "Give each day of a live online offering its start and end time "
            "(attendance is counted against them)."
        )


def set_days(offering: Offering, days: Iterable[DaySpec]) -> bool:
    """Make the offering's days these (matched by date) and its date range theirs.

    Returns whether anything changed. Days kept by date keep their rows (and so whatever
    records attendance against them); days no longer listed are removed.
    """
    wanted = check_days(list(days))
    by_date = {day.held_on: day for day in offering.days}
    changed = False
    kept: list[OfferingDay] = []
    for spec in wanted:
        row = by_date.pop(spec.held_on, None)
        if row is None:
            row = OfferingDay(held_on=spec.held_on)
            changed = True
        for name in ("starts_at", "ends_at", "ce_hours"):
            value = getattr(spec, name)
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        kept.append(row)
    if by_date:
        changed = True
    offering.days = kept
    if offering.starts_on != wanted[0].held_on or offering.ends_on != wanted[-1].held_on:
        offering.starts_on, offering.ends_on = wanted[0].held_on, wanted[-1].held_on
        changed = True
    return changed


def new_offering(item_id: int, days: Iterable[DaySpec], **values: object) -> Offering:
    """An offering of the item over these days (not yet added to a session)."""
    offering = Offering(item_id=item_id, **values)
    offering.days = []
    set_days(offering, days)
    return offering

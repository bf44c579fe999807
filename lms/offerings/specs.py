"""The catalogue file's `[[items.offerings]]`: checked into specs, then matched to rows.

An offering is written either with its days (each with its hours in the programme's time
zone and its CE hours) or, when every day of a range counts alike, with `starts_on` and
`ends_on`:

    [[items.offerings]]
    format = "live_online"
    capacity = 40
    enrolment_deadline = 2027-01-05
    days = [
      { on = 2027-01-12, starts_at = "09:00", ends_at = "17:00", ce_hours = 7 },
      { on = 2027-01-13, starts_at = "09:00", ends_at = "17:00", ce_hours = 7 },
    ]

Offerings are matched by (first day, location). The join link is never in the file (it is
set in the app and shown to enrolled people only); offerings added in the app are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import object_session

from lms import validation
from lms.catalog.api import CatalogItem
from lms.errors import InvalidInput
from lms.offerings.days import (
    DaySpec,
    asked_status,
    check_days,
    check_format,
    every_day,
    set_days,
)
from lms.offerings.models import Offering, OfferingFormat, OfferingStatus
from lms.offerings.places import status_changed

OFFERING_FIELDS = {
    "days",
    "starts_on",
    "ends_on",
    "format",
    "location",
    "capacity",
    "enrolment_deadline",
    "cancelled",
}
DAY_FIELDS = {"on", "starts_at", "ends_at", "ce_hours"}
MAX_CAPACITY = 10_000
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class OfferingSpec:
    """One offering as the file describes it, in model values."""

    days: tuple[DaySpec, ...]
    format: OfferingFormat
    location: str
    capacity: int
    enrolment_deadline: date | None
    cancelled: bool

    @property
    def key(self) -> tuple[date, str]:
        """What matches the file's offering to a row: its first day and its place."""
        return (self.days[0].held_on, self.location)


def _date(value: Any) -> date | None:
    """A TOML date (not a date-time), else None."""
    return value if isinstance(value, date) and not isinstance(value, datetime) else None


def _time(value: Any) -> time | None:
    """A TOML local time or "HH:MM" text, else None."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and (match := _HOURS.match(value.strip())):
        hours, minutes = int(match[1]), int(match[2])
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    return None


def _days(raw: dict[str, Any], add: Callable[[str], None]) -> list[DaySpec] | None:
    """The offering's days from `days = [...]` or from `starts_on`/`ends_on`."""
    if "days" in raw:
        if "starts_on" in raw or "ends_on" in raw:
            add("give either days or starts_on and ends_on, not both")
            return None
        if not isinstance(raw["days"], list) or not raw["days"]:
            add("days: expected a list of { on = 2027-01-12, ... } tables")
            return None
        days = []
        for number, day in enumerate(raw["days"]):
            if not isinstance(day, dict):
                add(f"days[{number}]: expected a table like {{ on = 2027-01-12 }}")
                return None
            if unknown := sorted(set(day) - DAY_FIELDS):
                add(f"days[{number}].{unknown[0]}: unknown field")
                return None
            held_on = _date(day.get("on"))
            if held_on is None:
                add(f"days[{number}].on: expected a date like 2027-01-12 (no quotes)")
                return None
            if problem := validation.date_problem(held_on):
                add(f"days[{number}].on: {_lower(problem)}")
                return None
            hours = [day.get(name) for name in ("starts_at", "ends_at")]
            times = [_time(value) if value is not None else None for value in hours]
            if any(v is not None and t is None for v, t in zip(hours, times, strict=True)):
                add(f'days[{number}]: starts_at and ends_at are times like "09:00"')
                return None
            ce = day.get("ce_hours")
            if ce is not None and (isinstance(ce, bool) or not isinstance(ce, int | float)):
                add(f"days[{number}].ce_hours: expected a number of hours")
                return None
            days.append(
                DaySpec(
                    held_on,
                    times[0],
                    times[1],
                    Decimal(str(ce)).quantize(Decimal("0.01")) if ce is not None else None,
                )
            )
        return days
    dates = []
    for name in ("starts_on", "ends_on"):
        value = _date(raw.get(name))
        if value is None:
            add(
                f"{name}: expected a date like 2027-04-14 (no quotes, no time), "
                "or give days = [...]"
            )
            return None
        if problem := validation.date_problem(value):
            add(f"{name}: {_lower(problem)}")
            return None
        dates.append(value)
    try:
        return every_day(*dates)
    except InvalidInput as error:
        add(f"ends_on: {_lower(error.message)}")
        return None


def _lower(message: str) -> str:
    """A message continued after a colon."""
    return message[:1].lower() + message[1:]


def check_offerings(
    raw_offerings: Any, *, is_retreat: bool, add: Callable[[str], None]
) -> list[OfferingSpec]:
    """Validate an item's [[items.offerings]]; `add` records a problem ("field ..." text)."""
    if not isinstance(raw_offerings, list):
        add("field offerings: expected a list of [[items.offerings]] tables")
        return []
    specs: list[OfferingSpec] = []
    seen: set[tuple[date, str]] = set()
    for index, raw in enumerate(raw_offerings):
        where = f"field offerings[{index}]"

        def problem(message: str, where: str = where) -> None:
            """One problem with this offering."""
            add(f"{where}: {message}")

        if not isinstance(raw, dict):
            problem("expected a table")
            continue
        if unknown := sorted(set(raw) - OFFERING_FIELDS):
            for key in unknown:
                problem(
                    f"{key}: unknown field"
                    + (" (the join link is set in the app)" if key == "join_url" else "")
                )
            continue
        days = _days(raw, problem)
        if days is None:
            continue
        location = raw.get("location", "")
        if not isinstance(location, str):
            problem("location: expected text")
            continue
        location = validation.trim(location)
        if trouble := validation.line_problem(location, 200):
            problem(f"location: {_lower(trouble)}")
            continue
        default = (
            OfferingFormat.IN_PERSON if (is_retreat or location) else OfferingFormat.LIVE_ONLINE
        )
        try:
            format_ = OfferingFormat(raw.get("format", default.value))
        except ValueError:
            problem('format: expected "live_online" or "in_person"')
            continue
        capacity = raw.get("capacity")
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, int)
            or not 0 <= capacity <= MAX_CAPACITY
        ):
            problem("capacity: expected a whole number of 0 or more")
            continue
        deadline = raw.get("enrolment_deadline")
        if deadline is not None and _date(deadline) is None:
            problem("enrolment_deadline: expected a date like 2027-03-03 (no quotes)")
            continue
        cancelled = raw.get("cancelled", False)
        if not isinstance(cancelled, bool):
            problem("cancelled: expected true or false")
            continue
        try:
            days = check_days(days)
            for day in days:
                validation.sensible_date(day.held_on, "Day")
            check_format(format_, days, location)
        except InvalidInput as error:
            problem(error.message)
            continue
        if deadline is not None and deadline > days[0].held_on:
            problem(f"enrolment_deadline: {deadline} is after the first day {days[0].held_on}")
            continue
        spec = OfferingSpec(tuple(days), format_, location, capacity, deadline, cancelled)
        if spec.key in seen:
            problem(f"duplicate offering ({spec.key[0]}, {spec.key[1] or 'online'})")
            continue
        seen.add(spec.key)
        specs.append(spec)
    return specs


def new_from_spec(spec: OfferingSpec) -> Offering:
    """A new offering row from the file's description (the item sets item_id)."""
    offering = Offering(
        format=spec.format,
        status=asked_status(spec.cancelled, None),
        location=spec.location,
        capacity=spec.capacity,
        enrolment_deadline=spec.enrolment_deadline,
    )
    offering.days = []
    set_days(offering, spec.days)
    return offering


def apply_offerings(item: CatalogItem, specs: list[OfferingSpec]) -> bool:
    """Add the file's new offerings to the item and bring listed ones in line; whether
    anything changed. Offerings the file does not list are left alone (added in the app)."""
    changed = False
    by_key = {(o.starts_on, o.location): o for o in item.offerings}
    for spec in specs:
        row = by_key.pop(spec.key, None)
        if row is None:
            item.offerings.append(new_from_spec(spec))
            changed = True
            continue
        if row.status == OfferingStatus.CLOSED:
            continue  # what happened is history: a reloaded file does not rewrite it
        changed = set_days(row, spec.days) or changed
        for attribute in ("format", "capacity", "enrolment_deadline"):
            if getattr(row, attribute) != getattr(spec, attribute):
                setattr(row, attribute, getattr(spec, attribute))
                changed = True
        status = asked_status(spec.cancelled, row.status)
        if row.status != status:
            previous, row.status = row.status, status
            status_changed(object_session(row), row, previous)
            changed = True
    return changed

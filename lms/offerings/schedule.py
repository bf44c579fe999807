"""Scheduling offerings: staff create and change dated runs of items; lists with places taken."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from lms import dates, validation
from lms.auth.api import Role, User, UserRole
from lms.catalog.api import CatalogItem
from lms.catalog.services import load_catalogue
from lms.errors import Conflict, InvalidInput, NotFound
from lms.i18n import translate
from lms.offerings.calendar import uid_keys
from lms.offerings.days import (
    DaySpec,
    asked_status,
    check_days,
    check_format,
    set_days,
)
from lms.offerings.models import (
    Offering,
    OfferingFacilitator,
    OfferingFormat,
    OfferingStatus,
)
from lms.offerings.participants import rejudge_days
from lms.offerings.places import (
    lock_offering,
    places_taken,
    promote_waitlisted,
    record_offering_event,
    status_changed,
)
from lms.offerings.rescheduling import Preview, Seen, announce, preview

MAX_LOCATION = 200
MAX_JOIN_URL = 500
MAX_CAPACITY = 1000


@dataclass(frozen=True)
class OfferingInput:
    """Staff's values for an offering (shape already checked by the form)."""

    days: tuple[DaySpec, ...]
    capacity: int
    format: OfferingFormat = OfferingFormat.IN_PERSON
    location: str = ""
    join_url: str = ""
    enrolment_deadline: date | None = None
    cancelled: bool = False
    facilitator_ids: tuple[int, ...] = ()


def check_input(data: OfferingInput) -> OfferingInput:
    """Refuse values that are well-formed but impossible; the values tidied."""
    days = check_days(list(data.days))
    for day in days:
        validation.sensible_date(day.held_on, "Day")
    location = validation.single_line(data.location, "Location", max_length=MAX_LOCATION)
    join_url = validation.single_line(data.join_url, "Join link", max_length=MAX_JOIN_URL)
    check_format(data.format, days, location)
    if join_url and not re.match(r"https://[^\s/]+\.[^\s/]+", join_url):
        raise InvalidInput("The join link must be an https:// address.")
    if not 0 <= data.capacity <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity must be between 0 and {MAX_CAPACITY} places.")
    if data.enrolment_deadline is not None:
        validation.sensible_date(data.enrolment_deadline, "Enrolment deadline")
        if data.enrolment_deadline > days[0].held_on:
            raise InvalidInput(
                translate("The enrolment deadline must be on or before the first day.")
            )
    return replace(data, days=tuple(days), location=location, join_url=join_url)


_DAY_LINE = re.compile(
    r"^(?P<on>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:\s+(?P<start>[0-9]{1,2}:[0-9]{2})\s*[-–]\s*(?P<end>[0-9]{1,2}:[0-9]{2}))?"
    r"(?:\s+(?P<ce>[0-9]+(?:\.[0-9]+)?)\s*(?:h|hours?|CE)?)?$",
    re.IGNORECASE,
)


def parse_days(text: str) -> list[DaySpec]:
    """Days from the form's text, one per line: `2027-01-12 09:00-17:00 7` (date, optional
    hours in the programme's time zone, optional CE hours). InvalidInput names the line."""
    days = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _DAY_LINE.match(line)
        if match is None:
            raise InvalidInput(
                f"Days, line {number}: write a date, then optionally the hours and the CE "
                "hours, like 2027-01-12 09:00-17:00 7."
            )
        try:
            held_on = date.fromisoformat(match["on"])
            starts_at = _time(match["start"]) if match["start"] else None
            ends_at = _time(match["end"]) if match["end"] else None
            ce_hours = Decimal(match["ce"]) if match["ce"] else None
        except (ValueError, InvalidOperation) as error:
            message = f"Days, line {number}: {line!r} is not a real date or time."
            raise InvalidInput(message) from error
        days.append(DaySpec(held_on, starts_at, ends_at, ce_hours))
    if not days:
        raise InvalidInput("Days: give at least one day.")
    return days


def _time(text: str) -> time:
    """'9:00' or '09:00' as a time."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def format_days(days: Sequence[DaySpec | object]) -> str:
    """The days as the form's text (the inverse of parse_days)."""
    lines = []
    for day in days:
        parts = [day.held_on.isoformat()]
        if day.starts_at is not None:
            parts.append(f"{day.starts_at:%H:%M}-{day.ends_at:%H:%M}")
        if day.ce_hours is not None:
            parts.append(f"{day.ce_hours.normalize():f}")
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _refuse_duplicate(
    session: Session, item: CatalogItem, starts_on: date, location: str, *, other_than: int | None
) -> None:
    """Conflict when the item already has an offering starting that day in that place."""
    query = select(Offering.id).where(
        Offering.item_id == item.id,
        Offering.starts_on == starts_on,
        Offering.location == location,
    )
    if other_than is not None:
        query = query.where(Offering.id != other_than)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(_duplicate_message(item.title, starts_on, location))


def _duplicate_message(title: str, starts_on: date, location: str) -> str:
    """What staff are told about a second offering on the same day in the same place."""
    place = f" in {location}" if location else " online"
    return (
        f"{title} already has an offering starting {dates.day(starts_on)}{place}; "
        "change the first day or the location, or edit that offering instead."
    )


def _check_facilitators(session: Session, ids: Sequence[int]) -> list[int]:
    """The ids, each an active instructor (or InvalidInput)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = set(
        session.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.id.in_(wanted), User.active.is_(True), UserRole.role == Role.INSTRUCTOR)
        )
    )
    if missing := [i for i in wanted if i not in found]:
        raise InvalidInput(f"Facilitators must be active instructors (not: {missing}).")
    return wanted


def _set_facilitators(session: Session, offering: Offering, ids: list[int]) -> bool:
    """Make the offering's facilitators exactly these people; whether anything changed."""
    current = {f.user_id for f in offering.facilitators}
    if current == set(ids):
        return False
    session.execute(
        delete(OfferingFacilitator).where(OfferingFacilitator.offering_id == offering.id)
    )
    if ids:
        session.execute(
            insert(OfferingFacilitator), [{"offering_id": offering.id, "user_id": i} for i in ids]
        )
    session.expire(offering, ["facilitators"])
    return True


def create_offering(
    session: Session, *, item_code: str, data: OfferingInput, actor_id: int
) -> Offering:
    """Schedule a run of an item (Conflict when one starts that day in that place already)."""
    data = check_input(data)
    item = session.scalar(
        select(CatalogItem).where(CatalogItem.code == item_code, CatalogItem.active.is_(True))
    )
    if item is None:
        raise InvalidInput("Choose a module or retreat.")
    facilitators = _check_facilitators(session, data.facilitator_ids)
    _refuse_duplicate(session, item, data.days[0].held_on, data.location, other_than=None)
    offering = Offering(
        item_id=item.id,
        format=data.format,
        status=asked_status(data.cancelled, None),
        location=data.location,
        join_url=data.join_url,
        capacity=data.capacity,
        enrolment_deadline=data.enrolment_deadline,
    )
    offering.days = []
    offering.facilitators = []
    set_days(offering, data.days)
    title = item.title
    try:
        # Added inside the savepoint: a racer's insert rolls back only this row.
        with session.begin_nested():
            session.add(offering)
            session.flush()
    except IntegrityError as error:
        raise Conflict(_duplicate_message(title, data.days[0].held_on, data.location)) from error
    _set_facilitators(session, offering, facilitators)
    record_offering_event(
        session,
        offering.id,
        "offering.created",
        actor_id=actor_id,
        item=item.code,
        starts_on=offering.starts_on,
        ends_on=offering.ends_on,
        location=offering.location,
        capacity=offering.capacity,
        format=offering.format.value,
    )
    return offering


def _refuse_impossible_change(
    session: Session, offering: Offering, data: OfferingInput
) -> list[int]:
    """Conflict for a change the offering cannot take (closed, onto another offering's day
    and place, fewer places than are taken); the checked facilitators otherwise."""
    if offering.status == OfferingStatus.CLOSED:
        raise Conflict("This offering is closed; its days and places can no longer change.")
    facilitators = _check_facilitators(session, data.facilitator_ids)
    _refuse_duplicate(
        session, offering.item, data.days[0].held_on, data.location, other_than=offering.id
    )
    taken = places_taken(session, offering.id)
    if data.capacity < taken:
        raise Conflict(
            f"{taken} places are already taken; capacity cannot be lower than that. "
            "Withdraw enrolled people first."
        )
    return facilitators


@dataclass(frozen=True)
class OfferingChange:
    """What saving an offering did: the offering, and how many attendance cells its days'
    new hours judged again (from their participant reports)."""

    offering: Offering
    attendance_rejudged: int = 0
    people_told: int = 0  # how many were told of the change (notice and mail)


def update_offering(
    session: Session, offering_id: int, *, data: OfferingInput, actor_id: int
) -> OfferingChange:
    """Change an offering; capacity never drops below the places already given, and more
    room moves the waitlist up at once; a day whose hours change has its participant report
    judged again."""
    data = check_input(data)
    offering = lock_offering(session, offering_id)
    facilitators = _refuse_impossible_change(session, offering, data)
    watched = ("starts_on", "ends_on", "location", "capacity", "enrolment_deadline", "status")
    before = {key: getattr(offering, key) for key in (*watched, "format", "join_url")}
    title = offering.item.title
    lengths = {day.held_on: day.minutes for day in offering.days}
    seen, seen_uid_keys = Seen.of(offering), uid_keys(offering)
    try:
        with session.begin_nested():
            days_changed = set_days(offering, data.days)
            offering.format = data.format
            offering.location = data.location
            offering.join_url = data.join_url
            offering.capacity = data.capacity
            offering.enrolment_deadline = data.enrolment_deadline
            offering.status = asked_status(data.cancelled, offering.status)
            session.flush()
    except IntegrityError as error:
        raise Conflict(_duplicate_message(title, data.days[0].held_on, data.location)) from error
    status_changed(session, offering, before["status"])
    rejudged = 0
    changed: dict[str, object] = {
        key: [before[key], getattr(offering, key)]
        for key in watched
        if before[key] != getattr(offering, key)
    }
    if before["format"] != offering.format:
        changed["format"] = [before["format"].value, offering.format.value]
    if before["join_url"] != offering.join_url:
        changed["join_url"] = "changed"  # the link itself stays out of the log
    if days_changed:
        changed["days"] = "changed"
        # A participant report judged its day against the hours it had then.
        resized = [d for d in offering.days if lengths.get(d.held_on, d.minutes) != d.minutes]
        rejudged = rejudge_days(session, offering.id, resized, actor_id=actor_id)
        if rejudged:
            changed["attendance_rejudged"] = rejudged
    if _set_facilitators(session, offering, facilitators):
        changed["facilitators"] = facilitators
    # Told before the waitlist moves up: a place given now is news of its own, with the new
    # days, and must not be superseded by the notice of the change.
    notice = announce(session, offering, seen, seen_uid_keys)
    told = len(notice.told) if notice is not None else 0
    if notice is not None:
        changed["calendar_sequence"] = offering.calendar_sequence
        changed["people_told"] = told
    record_offering_event(session, offering.id, "offering.updated", actor_id=actor_id, **changed)
    noun = "application" if offering.item.is_retreat else "enrolment"
    promote_waitlisted(session, offering, actor_id=actor_id, noun=noun)
    return OfferingChange(offering, rejudged, told)


def seen_after(data: OfferingInput) -> Seen:
    """The offering as its people would see it with these values."""
    return Seen(
        days=tuple((d.held_on, d.starts_at, d.ends_at) for d in data.days),
        format=data.format,
        location=data.location,
        join_url=data.join_url,
        cancelled=data.cancelled,
    )


def preview_update(
    session: Session, offering_id: int, *, data: OfferingInput, today: date
) -> Preview:
    """What update_offering would change and whom it would tell (nothing is written; what
    it would refuse is refused now, before anyone confirms it)."""
    data = check_input(data)
    offering = get_offering(session, offering_id)
    _refuse_impossible_change(session, offering, data)
    return preview(session, offering, seen_after(data), today=today)


def get_offering(session: Session, offering_id: int) -> Offering:
    """An offering with its item, days and facilitators, or NotFound."""
    offering = session.scalar(
        select(Offering)
        .options(
            joinedload(Offering.item),
            selectinload(Offering.days),
            selectinload(Offering.facilitators),
        )
        .where(Offering.id == offering_id)
    )
    if offering is None:
        raise NotFound("No such offering.")
    return offering


def facilitator_choices(session: Session) -> list[tuple[int, str]]:
    """Active instructors, by name (one query)."""
    rows = session.execute(
        select(User.id, User.name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == Role.INSTRUCTOR)
        .order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in rows]


def schedulable_items(session: Session) -> list[CatalogItem]:
    """Active items in catalogue order (what an offering can be of)."""
    return list(load_catalogue(session).items)

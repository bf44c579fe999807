"""Offerings as iCalendar files: one offering, or every place a clinician holds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from lms.db import utcnow
from lms.offerings.models import Offering, OfferingFormat


def _host(public_url: str) -> str:
    """The host part of the public URL (the UIDs' domain)."""
    return public_url.split("://", 1)[-1].split("/", 1)[0] or "kap-training"


def _calendar(name: str) -> Calendar:
    """An empty published calendar."""
    calendar = Calendar()
    calendar.add("prodid", f"-//KAP Training Tracker//{name}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    return calendar


def _where(offering: Offering, join_url: str) -> str:
    """The event's location: the place, or the join link when the reader may see it."""
    if offering.format == OfferingFormat.LIVE_ONLINE:
        return join_url or "Online (the join link is on your enrolments page)"
    return offering.location


def _events(
    offering: Offering, *, zone: ZoneInfo, public_url: str, join_url: str, note: str
) -> Iterable[Event]:
    """An event per day with hours (in the programme's zone), else one all-day event."""
    host = _host(public_url)
    summary = offering.item.title + (f" ({note})" if note else "")
    description = f"{offering.item.title}, {offering.format.label.lower()}"
    if offering.location:
        description += f", {offering.location}"
    if not all(day.starts_at is not None for day in offering.days) or not offering.days:
        event = Event()
        event.add("uid", f"offering-{offering.id}@{host}")
        event.add("summary", summary)
        event.add("dtstart", offering.starts_on)
        # DTEND of an all-day event is exclusive: the day after the last day.
        event.add("dtend", offering.ends_on + timedelta(days=1))
        event.add("dtstamp", utcnow())
        event.add("location", _where(offering, join_url))
        event.add("url", f"{public_url}/offerings/{offering.id}")
        event.add("description", description + ".")
        yield event
        return
    for number, day in enumerate(offering.days, start=1):
        event = Event()
        event.add("uid", f"offering-{offering.id}-day-{day.held_on:%Y%m%d}@{host}")
        event.add("summary", f"{summary}, day {number} of {len(offering.days)}")
        event.add("dtstart", datetime.combine(day.held_on, day.starts_at, tzinfo=zone))
        event.add("dtend", datetime.combine(day.held_on, day.ends_at, tzinfo=zone))
        event.add("dtstamp", utcnow())
        event.add("location", _where(offering, join_url))
        event.add("url", f"{public_url}/offerings/{offering.id}")
        event.add("description", description + ".")
        yield event


def offering_calendar(offering: Offering, *, zone: ZoneInfo, public_url: str) -> bytes:
    """One offering's days (no join link: anyone signed in may download it)."""
    calendar = _calendar("Offerings")
    for event in _events(offering, zone=zone, public_url=public_url, join_url="", note=""):
        calendar.add_component(event)
    return calendar.to_ical()


def personal_calendar(
    places: Iterable[tuple[Offering, str]], *, zone: ZoneInfo, public_url: str
) -> bytes:
    """Every (offering, note) a clinician holds or waits for; join links only for places held
    (the caller passes an empty note for those, "waitlisted" and so on otherwise)."""
    calendar = _calendar("My training")
    calendar.add("x-wr-calname", "My KAP training")
    for offering, note in places:
        join_url = offering.join_url if not note else ""
        for event in _events(
            offering, zone=zone, public_url=public_url, join_url=join_url, note=note
        ):
            calendar.add_component(event)
    return calendar.to_ical()

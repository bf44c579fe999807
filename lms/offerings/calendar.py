"""Offerings as iCalendar files: one offering, every place a clinician holds, and the
entries mailed when an offering moves or is cancelled.

Every file of an offering carries the same UIDs and the offering's current SEQUENCE
(`Offering.calendar_sequence`, raised by each change its people are told about), so a
calendar that already holds the event moves it instead of adding a second one.

Which METHOD: a download is a file a person imports or subscribes to, so it is PUBLISH (no
organizer, no attendees). A mail about a change is the organizer telling an attendee: RFC
5546 (iTIP) says an update is a REQUEST with the same UID and a higher SEQUENCE (§3.2.2) and
a cancellation is a CANCEL (§3.2.5), which is what mail clients act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from lms.db import utcnow
from lms.i18n import translate
from lms.offerings.models import Offering, OfferingFormat, OfferingStatus

PUBLISH, REQUEST, CANCEL = "PUBLISH", "REQUEST", "CANCEL"


def _host(public_url: str) -> str:
    """The host part of the public URL (the UIDs' domain)."""
    return public_url.split("://", 1)[-1].split("/", 1)[0] or "kap-training"


def timed(offering: Offering) -> bool:
    """Whether every day has hours (an event per day) rather than one all-day event."""
    return bool(offering.days) and all(day.starts_at is not None for day in offering.days)


def uid_keys(offering: Offering) -> list[str]:
    """The UIDs of the offering's events, before the '@host': one per day by its position
    (so a day that moves keeps its UID), or one for the whole run when days have no hours."""
    if timed(offering):
        return [f"offering-{offering.id}-day-{n}" for n in range(1, len(offering.days) + 1)]
    return [f"offering-{offering.id}"]


def _calendar(name: str, method: str) -> Calendar:
    """An empty calendar with its METHOD."""
    calendar = Calendar()
    calendar.add("prodid", f"-//KAP Training Tracker//{name}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _where(offering: Offering, join_url: str) -> str:
    """The event's location: the place, or the join link when the reader may see it."""
    if offering.format == OfferingFormat.LIVE_ONLINE:
        return join_url or translate("Online (the join link is on your enrolments page)")
    return offering.location


def _event(offering: Offering, key: str, host: str, *, gone: bool = False) -> Event:
    """An event with what every entry of the offering carries: UID, SEQUENCE, status
    (cancelled with the offering, or when `gone`: an entry the offering no longer has)."""
    event = Event()
    event.add("uid", f"{key}@{host}")
    event.add("sequence", offering.calendar_sequence)
    event.add("dtstamp", utcnow())
    cancelled = gone or offering.status == OfferingStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _events(
    offering: Offering, *, zone: ZoneInfo, public_url: str, join_url: str, note: str
) -> Iterable[Event]:
    """An event per day with hours (in the programme's zone), else one all-day event."""
    host = _host(public_url)
    if offering.status == OfferingStatus.CANCELLED:
        join_url = ""  # as on its page: a cancelled offering's link is nothing to act on
    summary = offering.item.title + (f" ({note})" if note else "")
    description = f"{offering.item.title}, {offering.format.label.lower()}"
    if offering.location:
        description += f", {offering.location}"
    keys = uid_keys(offering)
    if not timed(offering):
        event = _event(offering, keys[0], host)
        event.add("summary", summary)
        event.add("dtstart", offering.starts_on)
        # DTEND of an all-day event is exclusive: the day after the last day.
        event.add("dtend", offering.ends_on + timedelta(days=1))
        event.add("location", _where(offering, join_url))
        event.add("url", f"{public_url}/offerings/{offering.id}")
        event.add("description", description + ".")
        yield event
        return
    for number, (day, key) in enumerate(zip(offering.days, keys, strict=True), start=1):
        event = _event(offering, key, host)
        event.add("summary", f"{summary}, day {number} of {len(offering.days)}")
        event.add("dtstart", datetime.combine(day.held_on, day.starts_at, tzinfo=zone))
        event.add("dtend", datetime.combine(day.held_on, day.ends_at, tzinfo=zone))
        event.add("location", _where(offering, join_url))
        event.add("url", f"{public_url}/offerings/{offering.id}")
        event.add("description", description + ".")
        yield event


def offering_calendar(offering: Offering, *, zone: ZoneInfo, public_url: str) -> bytes:
    """One offering's days (no join link: anyone signed in may download it)."""
    calendar = _calendar("Offerings", PUBLISH)
    for event in _events(offering, zone=zone, public_url=public_url, join_url="", note=""):
        calendar.add_component(event)
    return calendar.to_ical()


def personal_calendar(
    places: Iterable[tuple[Offering, str]], *, zone: ZoneInfo, public_url: str
) -> bytes:
    """Every (offering, note) a clinician holds or waits for; join links only for places held
    (the caller passes an empty note for those, "waitlisted" and so on otherwise)."""
    calendar = _calendar("My training", PUBLISH)
    calendar.add("x-wr-calname", "My KAP training")
    for offering, note in places:
        join_url = offering.join_url if not note else ""
        for event in _events(
            offering, zone=zone, public_url=public_url, join_url=join_url, note=note
        ):
            calendar.add_component(event)
    return calendar.to_ical()


def _addressed(event: Event, *, organizer: str, attendee: str) -> Event:
    """The event as the organizer sends it to one attendee (iTIP needs both)."""
    event.add("organizer", vCalAddress(f"mailto:{organizer}"), parameters={"cn": "KAP Training"})
    event.add(
        "attendee",
        vCalAddress(f"mailto:{attendee}"),
        parameters={"role": "REQ-PARTICIPANT", "rsvp": "FALSE"},
    )
    return event


def invitation(
    offering: Offering,
    *,
    organizer: str,
    attendee: str,
    join_url: str,
    note: str,
    zone: ZoneInfo,
    public_url: str,
) -> bytes:
    """The offering as it now stands, mailed to one person: a REQUEST, or a CANCEL when the
    offering is cancelled (join link only when the caller passes it: places held)."""
    cancelled = offering.status == OfferingStatus.CANCELLED
    calendar = _calendar("Offerings", CANCEL if cancelled else REQUEST)
    for event in _events(offering, zone=zone, public_url=public_url, join_url=join_url, note=note):
        calendar.add_component(_addressed(event, organizer=organizer, attendee=attendee))
    return calendar.to_ical()


def dropped_days(
    offering: Offering,
    keys: Sequence[str],
    *,
    organizer: str,
    attendee: str,
    public_url: str,
) -> bytes:
    """A CANCEL of the entries (UIDs before the '@host') the offering no longer has: days
    taken away, or the per-day entries of a run whose days lost their hours."""
    calendar = _calendar("Offerings", CANCEL)
    host = _host(public_url)
    for key in keys:
        event = _event(offering, key, host, gone=True)
        event.add("summary", f"{offering.item.title} (day removed)")
        calendar.add_component(_addressed(event, organizer=organizer, attendee=attendee))
    return calendar.to_ical()

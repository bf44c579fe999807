"""The programme's clock: the one source of "now", of "today" and of a timestamp's local date.

Courses run on the programme's local dates (US Pacific by default), so "today" is the date
there, not UTC's nor the server's. The zone is the catalogue's `[programme] time_zone`.
Timestamps are stored as timezone-aware UTC (`utcnow`); whenever a person sees, prints,
exports or mails the day of a timestamp, or a rule compares one with a date, it is the
programme's date of that instant (`local_date`). Nothing else in the tracker reads the
system clock, so a test that pins this module's clock pins the whole tracker's day.

A core module: it imports no feature. The setting is read through a table clause of its own
(`programme_settings` is the catalogue's key/value table, whose schema comes from the
migrations) and the request's session is found through the app's extension, not by import.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_app_context
from sqlalchemy import JSON, String, column, select, table
from sqlalchemy.orm import Session

from lms.i18n import SETTING as LOCALE_SETTING

DEFAULT_TIME_ZONE = "America/Los_Angeles"
SETTING = "time_zone"
# The settings nearly every page needs, read together in one small query and kept for the
# request or command: the time zone and the locale (lms.i18n).
REQUEST_SETTINGS = (SETTING, LOCALE_SETTING)

# The catalogue's programme settings, as far as the clock reads them.
_SETTINGS = table("programme_settings", column("key", String), column("value", JSON))


def utcnow() -> datetime:
    """The moment now, timezone-aware UTC: what every `*_at` column stores."""
    return datetime.now(UTC)


def zone_named(name: str) -> ZoneInfo:
    """The zone of an IANA name; ValueError for an unknown one."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"Unknown time zone {name!r} (use an IANA name such as {DEFAULT_TIME_ZONE})."
        ) from error


def zone_of(session: Session) -> ZoneInfo:
    """The zone the catalogue names, read through the given session (default when unset)."""
    return _zone_or_default(read_request_settings(session).get(SETTING))


def read_request_settings(session: Session) -> dict[str, object]:
    """The time zone and locale settings in one query, kept for this request or command.

    Whichever of the two a page asks for first reads both, so the other costs nothing.
    """
    rows = session.execute(
        select(_SETTINGS.c.key, _SETTINGS.c.value).where(_SETTINGS.c.key.in_(REQUEST_SETTINGS))
    )
    found: dict[str, object] = {row[0]: row[1] for row in rows}
    if has_app_context():
        g._lms_request_settings = found
    return found


def kept_request_setting(key: str) -> tuple[bool, object]:
    """(known, value) of a request setting already read in this request or command."""
    if not has_app_context():
        return False, None
    kept = g.get("_lms_request_settings")
    if kept is None:
        return False, None
    return True, kept.get(key)


def note_request_setting(key: str, value: object) -> None:
    """Keep a request setting a caller has read in its own query (see `note_zone`)."""
    if has_app_context():
        kept = g.get("_lms_request_settings")
        if kept is None:
            kept = g._lms_request_settings = {}
        kept[key] = value


def _zone_or_default(name: object) -> ZoneInfo:
    """The zone a stored setting names, or the default when it is unset or unknown."""
    try:
        return zone_named(name) if isinstance(name, str) and name else ZoneInfo(DEFAULT_TIME_ZONE)
    except ValueError:
        return ZoneInfo(DEFAULT_TIME_ZONE)


def note_zone(name: object, *, replace: bool = False) -> None:
    """Keep for this request the zone setting a caller has just read in its own query.

    The catalogue's version is read with the setting beside it, so a page that needs both
    pays one round trip; `programme_zone` then answers without a query. `replace` when the
    setting was just read from the database and a zone noted earlier may have been a guess.
    """
    if has_app_context() and (replace or g.get("_lms_zone") is None):
        g._lms_zone = _zone_or_default(name)


def forget_zone() -> None:
    """Drop the zone kept for this request or command (the setting has just changed)."""
    if has_app_context():
        g.pop("_lms_zone", None)
        g.pop("_lms_request_settings", None)


def programme_zone(session: Session | None = None) -> ZoneInfo:
    """The programme's time zone, read once per request or command.

    Through `session` when given (a unit of work must not open a second connection: on SQLite
    that one would wait for the first one's lock), else through the request's session.
    """
    if not has_app_context():
        return zone_of(session) if session is not None else ZoneInfo(DEFAULT_TIME_ZONE)
    found = g.get("_lms_zone")
    if found is None:
        if session is None:
            session = current_app.extensions["lms"].db.session
        found = g._lms_zone = zone_of(session)
    return found


def local_now(session: Session | None = None) -> datetime:
    """The moment now, in the programme's time zone."""
    return utcnow().astimezone(programme_zone(session))


def today(session: Session | None = None) -> date:
    """Today's date where the programme runs."""
    return local_now(session).date()


def today_in(zone: ZoneInfo) -> date:
    """Today's date in a given zone (a caller that already knows the programme's zone)."""
    return date_in(utcnow(), zone)


def time_in(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored timestamp on a given zone's wall clock (naive ones are UTC, as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def date_in(moment: datetime, zone: ZoneInfo) -> date:
    """The date of a stored timestamp in a given zone (a caller that knows the zone)."""
    return time_in(moment, zone).date()


def local_time(moment: datetime, session: Session | None = None) -> datetime:
    """A stored timestamp as the programme's wall clock read it (naive ones are UTC)."""
    return time_in(moment, programme_zone(session))


def local_date(moment: datetime, session: Session | None = None) -> date:
    """The programme's date of a stored timestamp: the day a person there lived it."""
    return local_time(moment, session).date()


def local_date_or_none(moment: datetime | None, session: Session | None = None) -> date | None:
    """`local_date`, passing None through (an optional timestamp such as a revocation)."""
    return None if moment is None else local_date(moment, session)


def end_of_day(moment: datetime) -> datetime:
    """The last instant (UTC) of the day a wall-clock time falls on, in its own zone: what
    "valid until" that date means (all of it, as a licence expiring on a date is good that
    day), and the date printed for it is that day."""
    next_day = datetime.combine(moment.date() + timedelta(days=1), time(), tzinfo=moment.tzinfo)
    return (next_day - timedelta(microseconds=1)).astimezone(UTC)


def start_of_day(day: date, session: Session | None = None) -> datetime:
    """The UTC instant a programme date begins (for "since that day" comparisons in SQL)."""
    local = datetime(day.year, day.month, day.day, tzinfo=programme_zone(session))
    return local.astimezone(UTC)

"""The programme's date: one `today()` in the programme's time zone, for every page and guard.

Courses run on the programme's local dates (US Pacific by default), so "today" is the date
there, not UTC's nor the server's. The zone is the catalogue's `[programme] time_zone`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_app_context
from sqlalchemy.orm import Session

from lms.db import utcnow

DEFAULT_TIME_ZONE = "America/Los_Angeles"
SETTING = "time_zone"


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
    from sqlalchemy import select

    from lms.catalog.models import ProgrammeSetting

    name = session.scalar(select(ProgrammeSetting.value).where(ProgrammeSetting.key == SETTING))
    return _zone_or_default(name)


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
            from lms.db import db

            session = db.session
        found = g._lms_zone = zone_of(session)
    return found


def local_now(session: Session | None = None) -> datetime:
    """The moment now, in the programme's time zone."""
    return utcnow().astimezone(programme_zone(session))


def today(session: Session | None = None) -> date:
    """Today's date where the programme runs."""
    return local_now(session).date()

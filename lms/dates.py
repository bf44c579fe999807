"""How dates read wherever people read them, in the programme's locale (lms.i18n):
"Jan 20, 2024", "Mar 3 – 5, 2026", "Jan 20, 2024, 14:05 PST" in en-US; "20 Jan 2024",
"3–5 Mar 2026" in en-GB.

One style for every page and e-mail (CSV files and certificates keep their own: ISO dates
for machines, the long form for print). Month names and the order of day and month come from
Babel's locale data, never from `strftime("%b")`, which follows the server's locale. Pure
functions (the locale is the current programme locale unless one is given); `init_app` makes
them the templates' `day`, `moment` and `clock` filters and the `time_tag` function, with
timestamps shown in the programme's time zone (lms.clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from markupsafe import Markup

from lms.i18n import date_range, month_name, skeleton_date


def _local(value: date | datetime, zone: tzinfo | None) -> date | datetime:
    """A timestamp in the zone (naive ones are UTC, as the database stores them)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(zone or UTC)
    return value


def _date_of(value: date | datetime, zone: tzinfo | None) -> date:
    """The calendar day of a date, or of a timestamp where the zone is."""
    local = _local(value, zone)
    return local.date() if isinstance(local, datetime) else local


# CLDR skeletons of a single day: (weekday?, year?) -> skeleton.
DAY_SKELETONS = {
    (False, True): "yMMMd",
    (False, False): "MMMd",
    (True, True): "yMMMEd",
    (True, False): "MMMEd",
}


def day(
    value: date | datetime | None,
    until: date | None = None,
    zone: tzinfo | None = None,
    *,
    weekday: bool = False,
    year: bool = True,
    locale: str | None = None,
) -> str:
    """'Jan 20, 2024' (en-US) / '20 Jan 2024' (en-GB); with `until`, the locale's range.

    'Mar 3 – 5, 2026', 'Sep 30 – Oct 2, 2026', 'Dec 31, 2026 – Jan 4, 2027' in en-US; the same
    day twice is that day. A timestamp is the day it was where the programme runs (`zone`).
    With `weekday`, a single day leads with it: 'Tue, Jan 20, 2024'; without `year`, a single
    day leaves it out where the page has said it once ('Tue, Jan 20', a grid's columns).
    `locale` is a programme locale ("en-US"), the current one when None. None is ''.
    """
    if value is None:
        return ""
    first = value if type(value) is date else _date_of(value, zone)
    if until is None:
        return skeleton_date(first, DAY_SKELETONS[weekday, year], locale)
    last = _date_of(until, zone)
    if last == first:
        return day(first, locale=locale)
    return date_range(first, last, locale)


def moment(value: datetime | None, zone: tzinfo | None = None, *, seconds: bool = False) -> str:
    """'Jan 20, 2024, 14:05 PST': a timestamp where the programme runs, with the zone's name."""
    if value is None:
        return ""
    local = _local(value, zone)
    assert isinstance(local, datetime)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{day(local.date())}, {clock} {local.tzname() or 'UTC'}"


def clock(value: time | datetime | None) -> str:
    """'09:30': a time of day on the 24-hour clock (a timestamp's own, unconverted)."""
    return f"{value:%H:%M}" if value is not None else ""


def month(year: int, number: int, locale: str | None = None) -> str:
    """'Jan 2024': a month, as charts label them (in the locale's month names)."""
    return skeleton_date(date(year, number, 1), "yMMM", locale)


def month_abbreviation(number: int, locale: str | None = None) -> str:
    """'Jan': a month's short name in the locale (a chart column's label)."""
    return month_name(number, locale)


def machine(value: date | datetime) -> str:
    """The value for a `<time datetime>` attribute: a date, or a UTC moment to the second."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def time_tag(
    value: date | datetime | None,
    zone: tzinfo | None = None,
    *,
    with_time: bool = False,
    seconds: bool = False,
) -> Markup:
    """`<time datetime="2024-01-20">Jan 20, 2024</time>` (empty for None).

    `with_time` shows a timestamp's time of day too (to the second with `seconds`).
    """
    if value is None:
        return Markup("")
    if with_time and isinstance(value, datetime):
        text = moment(value, zone, seconds=seconds)
    else:
        text = day(value, None, zone)
    # Digits, month names and a zone's abbreviation: nothing to escape (and pages call this
    # for every date they show, so it skips Markup.format's work).
    return Markup(f'<time datetime="{machine(value)}">{text}</time>')  # noqa: S704


def init_app(app: Any, zone: Callable[[], tzinfo]) -> None:
    """Register the filters `day` and `moment` and the function `time_tag` for templates.

    `zone` gives the programme's time zone; it is asked only when a timestamp is shown.
    """

    def day_filter(
        value: date | datetime | None,
        until: date | None = None,
        weekday: bool = False,
        year: bool = True,
    ) -> str:
        """`{{ d|day }}`, `{{ starts|day(ends) }}`, `{{ d|day(weekday=true, year=false) }}`."""
        if value is None:
            return ""
        stamps = isinstance(value, datetime) or isinstance(until, datetime)
        return day(value, until, zone() if stamps else None, weekday=weekday, year=year)

    def moment_filter(value: datetime | None, seconds: bool = False, utc: bool = False) -> str:
        """`{{ at|moment }}`, `{{ at|moment(seconds=true) }}`; `utc` for the audit trail."""
        return moment(value, UTC if utc else zone(), seconds=seconds) if value is not None else ""

    def time_tag_function(
        value: date | datetime | None,
        with_time: bool = False,
        seconds: bool = False,
        utc: bool = False,
    ) -> Markup:
        """`{{ time_tag(d) }}`, `{{ time_tag(at, with_time=true) }}`; `utc` for the audit trail."""
        stamp = isinstance(value, datetime)
        where = (UTC if utc else zone()) if stamp else None
        return time_tag(value, where, with_time=with_time, seconds=seconds)

    app.jinja_env.filters["day"] = day_filter
    app.jinja_env.filters["moment"] = moment_filter
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.globals["time_tag"] = time_tag_function

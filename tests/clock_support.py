"""The suite's view of the programme's clock: today where the programme runs, and pinning it.

Tests never read the machine's date: they ask the programme's clock (lms.clock), the same
one the code asks, so a test and the code agree on "today" at any hour of the machine's day.
Date-sensitive tests also run with the clock pinned at the awkward instants below (the
`awkward_instant` fixture in conftest.py): time-machine moves this process's clock only, so
sleeps, lock timeouts and subprocesses keep the real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import time_machine

from lms import clock

PACIFIC = ZoneInfo(clock.DEFAULT_TIME_ZONE)

# When the programme's date and UTC's differ, or a day is not 24 hours long, or a year turns:
# an id for each (what pytest prints) and the instant.
AWKWARD_INSTANTS: dict[str, datetime] = {
    # 16:30 Pacific on 5 Dec: UTC's date is already the 6th.
    "0030utc": datetime(2026, 12, 6, 0, 30, tzinfo=UTC),
    # 23:55 Pacific on 5 Dec: the programme's day about to end (5 minutes: no test is slower).
    "0755utc": datetime(2026, 12, 6, 7, 55, tzinfo=UTC),
    # 00:01 Pacific on 6 Dec: both clocks on the same date again.
    "0801utc": datetime(2026, 12, 6, 8, 1, tzinfo=UTC),
    # 07:00 Pacific: the middle of both clocks' day (where a UTC bug hides).
    "1500utc": datetime(2026, 12, 6, 15, 0, tzinfo=UTC),
    # The programme's year still 2026, UTC's already 2027.
    "31dec2330pt": datetime(2026, 12, 31, 23, 30, tzinfo=PACIFIC),
    # 03:01 PDT on Mar 8, 2026, just after the clocks went forward (a 23-hour day).
    "dst-spring": datetime(2026, 3, 8, 10, 1, tzinfo=UTC),
    # 01:01 PST on Nov 1, 2026, the repeated hour after the clocks went back (a 25-hour day).
    "dst-autumn": datetime(2026, 11, 1, 9, 1, tzinfo=UTC),
}


def programme_today() -> date:
    """Today where the programme runs: the default zone, which the test catalogue keeps.

    Read without the database, so a test's own session opens no transaction for it.
    """
    return clock.today_in(PACIFIC)


@contextmanager
def pinned(moment: datetime, *, tick: bool = True) -> Iterator[datetime]:
    """The process's clock moved to `moment` (flowing on from there unless `tick` is False)."""
    with time_machine.travel(moment, tick=tick):
        yield moment

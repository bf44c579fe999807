"""One date style everywhere: lms.dates, and no page or e-mail template formats dates itself."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from lms.config import PROJECT_ROOT
from lms.dates import day, machine, moment, month, time_tag

PACIFIC = ZoneInfo("America/Los_Angeles")


def test_a_day_reads_month_day_year_in_en_us_and_day_month_year_in_en_gb():
    assert day(date(2024, 1, 20)) == "Jan 20, 2024"  # the default locale, en-US
    assert day(date(2026, 3, 5)) == "Mar 5, 2026"  # no leading zero
    assert day(date(2024, 1, 20), locale="en-GB") == "20 Jan 2024"
    assert day(date(2026, 3, 5), locale="en-GB") == "5 Mar 2026"
    assert day(date(2024, 1, 20), weekday=True, year=False) == "Sat, Jan 20"
    assert day(date(2024, 1, 20), weekday=True, year=False, locale="en-GB") == "Sat 20 Jan"
    assert day(None) == ""


@pytest.mark.parametrize(
    ("starts", "ends", "words"),
    [
        (date(2026, 3, 3), date(2026, 3, 5), "Mar 3\u2009\u2013\u20095, 2026"),
        (date(2026, 9, 30), date(2026, 10, 2), "Sep 30\u2009\u2013\u2009Oct 2, 2026"),
        (date(2026, 12, 31), date(2027, 1, 4), "Dec 31, 2026\u2009\u2013\u2009Jan 4, 2027"),
        (date(2026, 7, 26), date(2026, 7, 26), "Jul 26, 2026"),
    ],
    ids=["same month", "same year", "across a year", "one day"],
)
def test_an_american_range_names_each_year_once_and_both_when_it_crosses_one(starts, ends, words):
    assert day(starts, ends) == words


@pytest.mark.parametrize(
    ("starts", "ends", "words"),
    [
        (date(2026, 3, 3), date(2026, 3, 5), "3\u2009\u2013\u20095 Mar 2026"),
        (date(2026, 9, 30), date(2026, 10, 2), "30 Sept\u2009\u2013\u20092 Oct 2026"),
        (date(2026, 12, 31), date(2027, 1, 4), "31 Dec 2026\u2009\u2013\u20094 Jan 2027"),
        (date(2026, 7, 26), date(2026, 7, 26), "26 Jul 2026"),
    ],
    ids=["same month", "same year", "across a year", "one day"],
)
def test_a_british_range_names_each_year_once_and_both_when_it_crosses_one(starts, ends, words):
    assert day(starts, ends, locale="en-GB") == words


def test_a_timestamp_is_the_day_where_the_programme_runs():
    late_evening_in_california = datetime(2026, 1, 21, 5, 30, tzinfo=UTC)
    assert day(late_evening_in_california, zone=PACIFIC) == "Jan 20, 2026"
    assert day(late_evening_in_california) == "Jan 21, 2026"  # no zone given: UTC


def test_a_moment_has_the_time_and_the_zone():
    at = datetime(2026, 1, 21, 5, 30, 9, 123456, tzinfo=UTC)
    assert moment(at, PACIFIC) == "Jan 20, 2026, 21:30 PST"
    assert moment(at, PACIFIC, seconds=True) == "Jan 20, 2026, 21:30:09 PST"
    assert moment(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), PACIFIC) == "Jul 1, 2026, 05:00 PDT"
    assert moment(datetime(2026, 7, 1, 12, 0)) == "Jul 1, 2026, 12:00 UTC"  # naive = UTC


def test_month_labels_and_machine_values():
    assert month(2026, 12) == "Dec 2026"
    assert machine(date(2026, 12, 1)) == "2026-12-01"
    assert machine(datetime(2026, 1, 21, 5, 30, 9, 999, tzinfo=UTC)) == "2026-01-21T05:30:09Z"


def test_a_time_tag_carries_a_valid_machine_value_and_the_one_style():
    at = datetime(2026, 1, 21, 5, 30, 9, 999, tzinfo=UTC)
    assert str(time_tag(date(2024, 1, 20))) == '<time datetime="2024-01-20">Jan 20, 2024</time>'
    assert str(time_tag(at, PACIFIC)) == '<time datetime="2026-01-21T05:30:09Z">Jan 20, 2026</time>'
    assert str(time_tag(at, PACIFIC, with_time=True)) == (
        '<time datetime="2026-01-21T05:30:09Z">Jan 20, 2026, 21:30 PST</time>'
    )
    assert str(time_tag(None)) == ""


TEMPLATES = PROJECT_ROOT / "templates"
# Any date formatting of a template's own: strftime, isoformat, or a `%d`/`%b`-style pattern.
OWN_FORMATTING = re.compile(r"strftime|isoformat|%-?[dbBYmHM]\b")


@pytest.mark.parametrize(
    "template",
    sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"}),
    ids=lambda p: str(p.relative_to(TEMPLATES)),
)
def test_templates_leave_dates_to_the_one_filter(template):
    """Pages and e-mails show dates only through `day`, `moment` and `time_tag`."""
    text = template.read_text(encoding="utf-8")
    found = OWN_FORMATTING.findall(text)
    assert not found, f"{template.relative_to(PROJECT_ROOT)} formats dates itself: {found}"


def test_the_template_scan_catches_what_it_looks_for():
    for sample in ("{{ d.strftime('%d %b') }}", "{{ d.isoformat() }}", "'%-d %b %Y'"):
        assert OWN_FORMATTING.search(sample), sample
    assert not OWN_FORMATTING.search("{{ d|day }} {{ at|moment }} 100%")

"""Reading a video platform's participant report: columns by header, rejoins summed, every
problem named by line."""

from __future__ import annotations

from datetime import date

import pytest
from attendance_support import report

from lms.offerings.participants import ReportError, parse_report, parse_time

ON = date(2027, 1, 12)


def test_zoom_report_with_its_meeting_summary_is_read_and_rejoins_are_summed():
    text = report(
        ("Casey Morgan", "Casey@Example.org", 200),
        ("Casey Morgan (iPad)", "casey@example.org", 190),
        ("Dial-in 415", "", 30),
        ("Dial-in 415", "", 12),
        ("Robin", "robin@elsewhere.test", 400),
        on=ON,
    )
    parsed = parse_report(text)
    people = {(p.name, p.email): (p.minutes, p.joins) for p in parsed.people}
    assert people == {
        ("Casey Morgan", "casey@example.org"): (390, 2),
        ("Dial-in 415", ""): (42, 2),
        ("Robin", "robin@elsewhere.test"): (400, 1),
    }
    assert parsed.dates == {ON}
    assert parsed.people[0].line == 5  # the first row under the header


def test_headers_are_matched_by_name_in_any_case_and_order_and_other_columns_are_ignored():
    text = "duration,EMAIL,Extra,NAME\n61,a@example.org,x,Ann\n"
    (person,) = parse_report(text).people
    assert (person.name, person.email, person.minutes) == ("Ann", "a@example.org", 61)


def test_without_a_duration_column_the_minutes_come_from_join_and_leave_times():
    text = (
        "Name,Email,Join time,Leave time\n"
        "Ann,a@example.org,2027-01-12 09:00:00,2027-01-12 12:30:59\n"
        "Ann,a@example.org,01/12/2027 01:00 PM,01/12/2027 04:00 PM\n"
    )
    (person,) = parse_report(text).people
    assert person.minutes == 210 + 180


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no header row"),
        ("Email,Duration\na@example.org,5\n", "no header row"),
        ("Name,Email,Duration\n", "no participant rows"),
        ("Name,Email,Duration\nAnn,a@example.org,lots\n", "line 2: duration 'lots'"),
        ("Name,Email,Duration\nAnn,a@example.org,2000\n", "line 2: 2000 minutes"),
        ("Name,Email,Duration\n,,5\n", "line 2: no name and no e-mail"),
        ("Name,Email,Join Time,Leave Time\nAnn,,soon,later\n", "line 2: the join and leave"),
        ("Name,Email,Duration\nAnn\x07,a@example.org,5\n", "line 2: name"),
    ],
)
def test_a_bad_report_is_refused_naming_the_problem(text, problem):
    with pytest.raises(ReportError) as refused:
        parse_report(text)
    assert any(problem in p for p in refused.value.problems), refused.value.problems


def test_every_bad_line_is_named_not_only_the_first():
    text = "Name,Email,Duration\nAnn,a@x.org,x\nBob,b@x.org,9\nCy,c@x.org,-\n"
    with pytest.raises(ReportError) as refused:
        parse_report(text)
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 2", "line 4"]


@pytest.mark.parametrize(
    "text",
    [
        "01/12/2027 09:02:11 AM",
        "2027-01-12 09:02:11",
        "Jan 12, 2027 09:02:11 AM",
        "01/12/2027 21:02",
    ],
)
def test_join_times_are_read_in_the_formats_reports_use(text):
    assert parse_time(text).date() == ON

"""The sample participant report shipped in docs/ reads as the README describes it."""

from __future__ import annotations

from datetime import date

from lms.config import PROJECT_ROOT
from lms.offerings.participants import parse_report

SAMPLE = PROJECT_ROOT / "docs" / "sample-participant-report.csv"


def test_the_sample_report_is_a_zoom_report_of_one_day_with_rejoins_and_guests():
    parsed = parse_report(SAMPLE.read_text(encoding="utf-8-sig"))
    people = {p.email or p.name: (p.minutes, p.joins) for p in parsed.people}
    assert parsed.dates == {date(2026, 10, 17)}
    assert people == {
        "instructor@example.org": (436, 1),
        "hannah.cho@example.org": (413, 2),  # a rejoin, summed
        "samuel.adeyemi@example.org": (201, 1),  # plus his iPad below, matched by hand
        "Samuel's iPad": (196, 1),
        "rachel.stein.home@example.net": (401, 1),  # an address the tracker does not know
        "observer@example.net": (60, 1),
    }

"""The attendance policy: the catalogue's settings, and the one judgement of a person's days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lms.offerings.attendance_policy import (
    DEFAULT_SHARE,
    AttendancePolicy,
    DayRecord,
    check_programme_value,
    judge,
)

D1, D2, D3 = date(2027, 1, 12), date(2027, 1, 13), date(2027, 1, 14)
APA = {"body": "APA", "statement": "x", "partial_credit": False}
BBS = {"body": "BBS", "statement": "y", "partial_credit": True}


def day(on: date, present: bool | None, minutes: int | None = None, hours: str = "4") -> DayRecord:
    """A 420-minute day with its CE hours and what was recorded."""
    return DayRecord(on, Decimal(hours), 420, present, minutes)


@pytest.mark.parametrize("value", [0.9, 1, 0.5, 0.01])
def test_a_share_above_zero_and_at_most_one_is_accepted(value):
    assert check_programme_value("attendance_share", value) is None


@pytest.mark.parametrize("value", [0, 1.5, -0.1, True, "90%", None])
def test_anything_else_is_refused_with_what_is_expected(value):
    assert "at most 1" in check_programme_value("attendance_share", value)


def test_the_share_is_read_from_the_settings_and_defaults_when_absent():
    assert AttendancePolicy.from_settings({"attendance_share": 0.75}).share == Decimal("0.75")
    assert AttendancePolicy.from_settings({}).share == DEFAULT_SHARE


def test_partial_credit_only_when_every_statement_allows_it():
    both = AttendancePolicy.from_settings({"accreditation_statements": [BBS, dict(BBS)]})
    mixed = AttendancePolicy.from_settings({"accreditation_statements": [APA, BBS]})
    unsaid = AttendancePolicy.from_settings(
        {"accreditation_statements": [{"body": "ANCC", "statement": "z"}, BBS]}
    )
    none = AttendancePolicy.from_settings({"accreditation_statements": []})
    assert both.partial_credit is True
    assert mixed.partial_credit is False and mixed.full_only == ("APA",)
    assert unsaid.partial_credit is False and unsaid.full_only == ("ANCC",)
    assert none.partial_credit is False
    assert "no partial credit: APA" in mixed.describe()
    assert "Partial credit" in both.describe() and "90%" in both.describe()


def test_a_day_counts_from_the_share_of_its_minutes_rounded_up():
    policy = AttendancePolicy(share=Decimal("0.9"))
    assert policy.needed(420) == 378
    assert policy.attended(378, 420) is True
    assert policy.attended(377, 420) is False
    assert policy.needed(25) == 23  # 22.5 rounds up: never less than the share
    assert policy.attended(500, None) is None  # no hours set: minutes cannot tell


def test_every_day_attended_earns_all_the_days_hours():
    verdict = judge([day(D1, True), day(D2, True, 400, "3.5")], AttendancePolicy())
    assert verdict.met and verdict.full and verdict.ce_hours == Decimal("7.5")
    assert verdict.attended == (D1, D2) and verdict.missed == ()


def test_a_missed_day_earns_nothing_without_partial_credit_and_says_what_was_missed():
    verdict = judge(
        [day(D1, True), day(D2, False, 300), day(D3, None)], AttendancePolicy(partial_credit=False)
    )
    assert not verdict.met and verdict.ce_hours is None
    assert verdict.missed == (
        "Jan 13, 2027: absent (300 of 420 minutes; 378 needed)",
        "Jan 14, 2027: not recorded",
    )


def test_with_partial_credit_the_days_attended_earn_their_hours():
    verdict = judge(
        [day(D1, True, hours="3"), day(D2, False), day(D3, True, hours="2.5")],
        AttendancePolicy(partial_credit=True),
    )
    assert verdict.met and not verdict.full and verdict.partial
    assert verdict.ce_hours == Decimal("5.5") and verdict.missed == ("Jan 13, 2027: absent",)


def test_partial_credit_needs_hours_to_give_and_a_day_attended():
    policy = AttendancePolicy(partial_credit=True)
    assert not judge([day(D1, False), day(D2, None)], policy).met
    no_hours = [DayRecord(D1, None, 420, True), DayRecord(D2, None, 420, False)]
    assert not judge(no_hours, policy).met
    zero = [day(D1, True, hours="0"), day(D2, False)]
    assert not judge(zero, policy).met


def test_full_attendance_of_days_without_ce_hours_meets_the_policy_with_no_hours_of_its_own():
    verdict = judge([DayRecord(D1, None, None, True)], AttendancePolicy())
    assert verdict.met and verdict.ce_hours is None


def test_a_policy_recorded_by_a_closing_reads_back_as_the_same_policy():
    mixed = AttendancePolicy.from_settings(
        {"attendance_share": 0.8, "accreditation_statements": [APA, BBS]}
    )
    facts = mixed.facts()
    assert facts == {"share": "0.8", "partial_credit": False, "full_only": ["APA"]}
    assert AttendancePolicy.from_facts(facts) == mixed
    assert AttendancePolicy.from_facts(facts).describe() == mixed.describe()


def test_a_closing_recorded_without_its_policy_or_its_reason_says_only_what_it_kept():
    # Closings recorded before they kept their policy (and retreats, judged by their roster).
    assert AttendancePolicy.from_facts({"attended": [], "absent": []}) is None
    # Closings that kept the share and partial credit, not which accreditor refused it.
    older = AttendancePolicy.from_facts({"share": "0.75", "partial_credit": False})
    assert older == AttendancePolicy(Decimal("0.75"), False, None)
    assert older.describe() == (
        "A day counts as attended from 75% of its minutes. "
        "CE hours need every day attended (no partial credit)."
    )

"""The attendance policy: what the catalogue says counts as attending, and the one judgement
of a person's days against it.

Pure code (no database, no Flask). The catalogue loader checks the settings with it; the
attendance grid, the participant-report import and closing an offering judge with it, so
they never disagree; closing records the policy it judged by (`facts`), and the closed
offering is judged by that one from then on (`from_facts`). The policy is data in the
catalogue file:

- `[programme] attendance_share`: the share of a day's minutes that counts as attending it
  (0.9: 378 of a 420-minute day);
- `partial_credit = true/false` on each `[[programme.accreditation_statements]]`: whether
  that accreditor allows CE hours for the days attended. Every certificate prints every
  statement, so partial credit is given only when *every* statement allows it (a missing
  `partial_credit` counts as false, and so does a programme with no statement at all).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lms import dates

SHARE_KEY = "attendance_share"
PARTIAL_KEY = "partial_credit"
DEFAULT_SHARE = Decimal("0.9")  # when the catalogue names none: a common CE provider rule
# What the loader adds to the fields an accreditation statement may carry.
STATEMENT_FIELDS: dict[str, type] = {PARTIAL_KEY: bool}
PROGRAMME_KEYS = frozenset({SHARE_KEY})
# The keys of the policy a closing recorded in its audit event (lms.offerings.closing).
SHARE_KEY_RECORDED = "share"
FULL_ONLY_KEY = "full_only"


def check_programme_value(key: str, value: Any) -> str | None:
    """A problem with one of the policy's [programme] settings, or None (for the loader)."""
    if key == SHARE_KEY:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "expected a number above 0 and at most 1, like 0.9 (90% of a day's minutes)"
        if not 0 < value <= 1:
            return f"expected a share above 0 and at most 1 (0.9 is 90% of a day), got {value}"
    return None


def _day(day: date) -> str:
    """A date as messages print it."""
    return dates.day(day)


@dataclass(frozen=True)
class AttendancePolicy:
    """The programme's rule for what counts as attending, and whether partial credit is given."""

    share: Decimal = DEFAULT_SHARE
    partial_credit: bool = False
    # Accreditors whose statement allows no partial credit (to say why it is not given);
    # None when that is not known (a closing recorded before it was kept).
    full_only: tuple[str, ...] | None = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AttendancePolicy:
        """The policy the programme settings (as the catalogue stored them) describe."""
        raw = settings.get(SHARE_KEY)
        share = DEFAULT_SHARE
        if check_programme_value(SHARE_KEY, raw) is None and raw is not None:
            share = Decimal(str(raw))
        statements = [s for s in settings.get("accreditation_statements") or [] if s]
        full_only = tuple(
            str(s.get("body") or "an accreditor") if isinstance(s, Mapping) else "an accreditor"
            for s in statements
            if not (isinstance(s, Mapping) and s.get(PARTIAL_KEY) is True)
        )
        return cls(
            share=share, partial_credit=bool(statements) and not full_only, full_only=full_only
        )

    def facts(self) -> dict[str, Any]:
        """The policy as plain values, for the audit event of a closing that judged by it."""
        return {
            SHARE_KEY_RECORDED: str(self.share),
            PARTIAL_KEY: self.partial_credit,
            FULL_ONLY_KEY: list(self.full_only or ()),
        }

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> AttendancePolicy | None:
        """The policy `facts` recorded (None when they hold none: a closing recorded before
        closings kept their policy, or a retreat's, which is judged by its roster)."""
        share = facts.get(SHARE_KEY_RECORDED)
        if share is None:
            return None
        full_only = facts.get(FULL_ONLY_KEY)
        return cls(
            share=Decimal(str(share)),
            partial_credit=facts.get(PARTIAL_KEY) is True,
            full_only=tuple(str(x) for x in full_only) if full_only is not None else None,
        )

    def needed(self, length: int) -> int:
        """The minutes of a day of `length` minutes that count as attending it."""
        return math.ceil(self.share * length)

    def attended(self, minutes: int, length: int | None) -> bool | None:
        """Whether `minutes` in a day of `length` minutes count as attending it (None when
        the day's hours are not set, so minutes alone cannot tell)."""
        if length is None or length <= 0:
            return None
        return minutes >= self.needed(length)

    def describe(self) -> str:
        """The policy in one sentence for the pages that apply it."""
        percent = (self.share * 100).normalize()
        rule = f"A day counts as attended from {percent:f}% of its minutes."
        if self.partial_credit:
            return rule + " Partial credit: the CE hours of the days attended."
        if self.full_only is None:
            return rule + " CE hours need every day attended (no partial credit)."
        who = ", ".join(self.full_only) if self.full_only else "no accreditation statement"
        return rule + f" CE hours need every day attended (no partial credit: {who})."


@dataclass(frozen=True)
class DayRecord:
    """One day of an offering and what was recorded for one person on it."""

    held_on: date
    ce_hours: Decimal | None
    length: int | None  # the day's minutes (None when its hours are not set)
    present: bool | None  # None: nothing recorded for this person on this day
    minutes: int | None = None


@dataclass(frozen=True)
class Verdict:
    """What one person's days earn under the policy."""

    met: bool  # a completion is recorded when the offering closes
    full: bool  # every day attended
    ce_hours: Decimal | None  # the CE hours earned (None: the days carry none)
    attended: tuple[date, ...]
    missed: tuple[str, ...]  # each day not attended, as people read it

    @property
    def partial(self) -> bool:
        """Met with some days missed (partial credit)."""
        return self.met and not self.full


def _missed(day: DayRecord, policy: AttendancePolicy) -> str:
    """Why a day does not count, e.g. `13 Jan 2027: absent (300 of 420 minutes; 378 needed)`."""
    if day.present is None:
        return f"{_day(day.held_on)}: not recorded"
    if day.minutes is not None and day.length:
        return (
            f"{_day(day.held_on)}: absent ({day.minutes} of {day.length} minutes; "
            f"{policy.needed(day.length)} needed)"
        )
    return f"{_day(day.held_on)}: absent"


def days_hours(days: Iterable[Any]) -> Decimal | None:
    """The CE hours some days of an offering carry: the one sum of days' hours (None when no
    day carries any, which is not the same as 0)."""
    hours = [d.ce_hours for d in days if d.ce_hours is not None]
    return sum(hours, Decimal(0)) if hours else None


def judge(days: Sequence[DayRecord], policy: AttendancePolicy) -> Verdict:
    """The one judgement of a person's days: every day attended earns all the days' CE hours;
    with partial credit, some days attended earn those days' hours; otherwise nothing."""
    attended = tuple(d for d in days if d.present is True)
    missed = tuple(_missed(d, policy) for d in days if d.present is not True)
    dates = tuple(d.held_on for d in attended)
    if days and not missed:
        return Verdict(True, True, days_hours(days), dates, ())
    earned = days_hours(attended)
    if policy.partial_credit and earned:  # some hours for the days attended (not 0, not none)
        return Verdict(True, False, earned, dates, missed)
    return Verdict(False, False, None, dates, missed)

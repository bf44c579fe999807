"""Telling people when an offering moves or is cancelled: which changes matter to them, what
staff confirm before saving, and the signal the mail feature turns into notices and mail.

What notifies: the days (dates and hours), the format, the place, the join link, and the
offering being cancelled or reinstated: what a calendar entry or a person's plans hold.
What does not: capacity, the enrolment deadline, facilitators and a day's CE hours (nothing
an enrolled person has to act on). A change of the join link alone is news to those holding
a place only (nobody else is ever given the link).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lms import dates, signals
from lms.i18n import translate
from lms.offerings.calendar import uid_keys
from lms.offerings.models import (
    PLACE_HOLDING,
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingFormat,
    OfferingStatus,
)

# Who is told of a change: those holding a place, and those waiting for one (on the
# waitlist, or a retreat application still in medical review).
WAITING = (EnrolmentStatus.WAITLISTED, EnrolmentStatus.MEDICAL_REVIEW)
TOLD = (*PLACE_HOLDING, *WAITING)

ARROW = " \u2192 "  # "12 Dec 2026 → 4 – 5 Dec 2026"


def topic(offering_id: int) -> str:
    """What notices about one offering are about (a newer one supersedes older ones)."""
    return f"offering:{offering_id}"


@dataclass(frozen=True)
class Seen:
    """An offering as its people see it: the days and hours, how and where, the link."""

    days: tuple[tuple[date, time | None, time | None], ...]
    format: OfferingFormat
    location: str
    join_url: str
    cancelled: bool

    @classmethod
    def of(cls, offering: Offering) -> Seen:
        """How the offering stands now."""
        return cls(
            days=tuple((d.held_on, d.starts_at, d.ends_at) for d in offering.days),
            format=offering.format,
            location=offering.location,
            join_url=offering.join_url,
            cancelled=offering.status == OfferingStatus.CANCELLED,
        )


@dataclass(frozen=True)
class ChangeLine:
    """One thing that changed, old → new, as people read it; `private` lines (the join link)
    are for those holding a place only."""

    what: str
    before: str
    after: str
    private: bool = False

    def __str__(self) -> str:
        """'Days: 12 Dec 2026 → 4 – 5 Dec 2026'."""
        if not self.before and not self.after:
            return self.what
        return f"{self.what}: {self.before}{ARROW}{self.after}"


def dates_text(days: Iterable[date]) -> str:
    """The dates in the programme's style, runs of consecutive days as ranges:
    '4 – 5 Dec 2026', '4 Dec 2026, 6 – 7 Dec 2026'."""
    runs: list[list[date]] = []
    for held_on in sorted(days):
        if runs and held_on - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(held_on)
        else:
            runs.append([held_on])
    return ", ".join(dates.day(run[0], run[-1]) for run in runs)


def _hours(start: time | None, end: time | None) -> str:
    """'09:00–17:00', or 'no hours given'."""
    return f"{dates.clock(start)}\u2013{dates.clock(end)}" if start else "no hours given"


def hours_text(days: Sequence[tuple[date, time | None, time | None]]) -> str:
    """The hours (programme time): one span when every day has the same, else day by day."""
    spans = {(start, end) for _, start, end in days}
    if len(spans) == 1:
        return _hours(*spans.pop())
    return ", ".join(f"{dates.day(on, year=False)} {_hours(s, e)}" for on, s, e in days)


def _place(format_: OfferingFormat, location: str) -> str:
    """Where, in words."""
    return location or format_.label.lower()


def what_changed(before: Seen, after: Seen) -> list[ChangeLine]:
    """The changes people are told about, in reading order (empty: nothing to tell)."""
    if after.cancelled and not before.cancelled:
        return [ChangeLine(translate("Cancelled"), "", "")]
    lines = []
    if before.cancelled and not after.cancelled:
        lines.append(ChangeLine(translate("No longer cancelled"), "", ""))
    old_dates = [d[0] for d in before.days]
    new_dates = [d[0] for d in after.days]
    if old_dates != new_dates:
        lines.append(ChangeLine("Days", dates_text(old_dates), dates_text(new_dates)))
    old_hours, new_hours = hours_text(before.days), hours_text(after.days)
    if old_hours != new_hours:
        lines.append(ChangeLine(translate("Hours (programme time)"), old_hours, new_hours))
    if before.format != after.format:
        lines.append(ChangeLine("Format", before.format.label, after.format.label))
    old_place = _place(before.format, before.location)
    new_place = _place(after.format, after.location)
    if before.location != after.location and old_place != new_place:
        lines.append(ChangeLine("Place", old_place, new_place))
    if before.join_url != after.join_url:
        what = "The join link changed" if after.join_url else "The join link was removed"
        lines.append(ChangeLine(what, "", "", private=True))
    return lines


@dataclass(frozen=True)
class ScheduleNotice:
    """What the offering_rescheduled signal carries: the offering (already saved, SEQUENCE
    raised), what changed, the calendar entries it no longer has, and who is told."""

    offering: Offering
    changes: tuple[ChangeLine, ...]
    dropped_uid_keys: tuple[str, ...]
    people: tuple[Enrolment, ...]

    @property
    def cancelled(self) -> bool:
        """Whether this is the offering's cancellation."""
        return self.offering.status == OfferingStatus.CANCELLED

    def changes_for(self, enrolment: Enrolment) -> list[ChangeLine]:
        """The lines this person is told (the join link only to those holding a place)."""
        holds = enrolment.status in PLACE_HOLDING
        return [line for line in self.changes if holds or not line.private]

    @property
    def told(self) -> list[Enrolment]:
        """The people with something to be told."""
        return [e for e in self.people if self.changes_for(e)]


def people_to_tell(session: Session, offering_id: int) -> list[Enrolment]:
    """Everyone holding or waiting for a place, with their accounts (one query)."""
    return list(
        session.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.user))
            .where(Enrolment.offering_id == offering_id, Enrolment.status.in_(TOLD))
            .order_by(Enrolment.id)
        )
    )


def legacy_uid_keys(offering_id: int, seen: Seen) -> list[str]:
    """The UIDs earlier calendar files gave the offering's timed days: by their date."""
    if not seen.days or any(start is None for _, start, _ in seen.days):
        return []
    return [f"offering-{offering_id}-day-{day:%Y%m%d}" for day, _, _ in seen.days]


def announce(
    session: Session, offering: Offering, before: Seen, before_uid_keys: Sequence[str]
) -> ScheduleNotice | None:
    """After a saved change: when it is news to the offering's people, raise the calendar
    SEQUENCE and send offering_rescheduled (the mail feature writes the notices and mail in
    this unit of work). None when nothing people see changed (SEQUENCE kept)."""
    changes = what_changed(before, Seen.of(offering))
    if not changes:
        return None
    first_news = offering.calendar_sequence == 0
    offering.calendar_sequence += 1
    session.flush()
    current = set(uid_keys(offering))
    dropped = tuple(key for key in before_uid_keys if key not in current)
    if first_news:
        # Calendar files served before UIDs were kept by a day's position named each day by
        # its date: the first news cancels those too, or a moved day would show twice (a
        # calendar ignores the cancellation of a UID it never had).
        dropped += tuple(legacy_uid_keys(offering.id, before))
    notice = ScheduleNotice(
        offering=offering,
        changes=tuple(changes),
        dropped_uid_keys=dropped,
        people=tuple(people_to_tell(session, offering.id)),
    )
    signals.offering_rescheduled.send(notice, session=session)
    return notice


@dataclass(frozen=True)
class Preview:
    """What saving the form would do, for the confirmation page."""

    changes: tuple[ChangeLine, ...]
    holding: int  # people holding a place who would be told
    waiting: int  # people waiting (waitlist, medical review) who would be told
    past_days: tuple[date, ...]  # new days before today
    days_moved: bool
    cancelling: bool

    @property
    def told(self) -> int:
        """How many people would be told (holders alone when only the link changes)."""
        if self.changes and all(line.private for line in self.changes):
            return self.holding
        return self.holding + self.waiting if self.changes else 0

    @property
    def needs_confirmation(self) -> bool:
        """Moving or cancelling days people hold or wait for, or putting a day in the past."""
        people = self.holding + self.waiting
        return bool(self.past_days) or (people > 0 and (self.days_moved or self.cancelling))


def preview(session: Session, offering: Offering, after: Seen, *, today: date) -> Preview:
    """What saving `after` over the offering would change and whom it would tell."""
    before = Seen.of(offering)
    counts = Counter(
        dict(
            session.execute(
                select(Enrolment.status, func.count())
                .where(Enrolment.offering_id == offering.id, Enrolment.status.in_(TOLD))
                .group_by(Enrolment.status)
            ).all()
        )
    )
    old_dates = {d[0] for d in before.days}
    new_dates = [d[0] for d in after.days]
    return Preview(
        changes=tuple(what_changed(before, after)),
        holding=sum(counts[s] for s in PLACE_HOLDING),
        waiting=sum(counts[s] for s in WAITING),
        past_days=tuple(d for d in new_dates if d < today and d not in old_dates),
        days_moved=sorted(old_dates) != new_dates,
        cancelling=after.cancelled and not before.cancelled,
    )

"""Attendance per day of a module offering: who may take it, when, and the one place that
reads and writes its rows.

Every attendance row is written by `put_cell` here (the grid, a participant report, a match
made by hand); `policy` is the one reading of the catalogue's attendance policy, judged by
lms.offerings.attendance_policy. The grid page is lms.offerings.sheet; reports are read in
lms.offerings.participants. Retreats keep their own per-person marking (lms.retreats).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lms import dates
from lms.audit.services import record_event_of
from lms.auth.api import Role, User
from lms.catalog.services import programme_settings
from lms.errors import Conflict, Forbidden, NotFound
from lms.i18n import translate
from lms.offerings.attendance_policy import AttendancePolicy, DayRecord
from lms.offerings.models import (
    PLACE_HOLDING,
    Attendance,
    AttendanceSource,
    Enrolment,
    Offering,
    OfferingDay,
    OfferingStatus,
    ParticipantRow,
)

MAX_MINUTES = 24 * 60
CHOICES = ("", "present", "absent")  # not recorded / present / absent, as the grid's selects


def policy(session: Session) -> AttendancePolicy:
    """The programme's attendance policy, as the catalogue file sets it now (what an open
    offering is judged by; a closed one keeps its closing's: closing.judging_policy)."""
    return AttendancePolicy.from_settings(programme_settings(session))


def fmt(day: date) -> str:
    """A date as messages print it."""
    return dates.day(day)


def may_edit(user: User, offering: Offering) -> bool:
    """Admins and the offering's own facilitators take its attendance; other staff only look."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.INSTRUCTOR) and any(
        f.user_id == user.id for f in offering.facilitators
    )


def require_module(offering: Offering) -> None:
    """Attendance pages are for module offerings; a retreat's is marked on its own roster."""
    if offering.item.is_retreat:
        raise NotFound(
            "Retreat attendance is marked per person on the retreat's roster, not on a grid."
        )


def check_editable(offering: Offering, actor: User) -> None:
    """Refuse attendance changes by people who may not make them, or to a settled offering."""
    require_module(offering)
    if not may_edit(actor, offering):
        raise Forbidden("Only this offering's facilitators and administrators take attendance.")
    if offering.status == OfferingStatus.CLOSED:
        raise Conflict("This offering is closed: its attendance can no longer change.")
    if offering.status == OfferingStatus.CANCELLED:
        raise Conflict(translate("This offering is cancelled: it has no attendance to take."))


def check_day_open(day: OfferingDay, today: date) -> None:
    """A day's attendance is taken from that day on."""
    if day.held_on > today:
        raise Conflict(f"Attendance for {fmt(day.held_on)} can be taken from that day on.")


def token(present: bool | None, minutes: int | None) -> str:
    """A cell's value in one string (`1:420`, `0:`, `:`): what the grid was drawn with, so a
    save changes only the cells its author changed."""
    mark = "" if present is None else ("1" if present else "0")
    return f"{mark}:{'' if minutes is None else minutes}"


@dataclass(frozen=True)
class Cell:
    """One person on one day: what is recorded (nothing, present or absent; minutes)."""

    enrolment_id: int
    day_id: int
    present: bool | None = None
    minutes: int | None = None
    source: AttendanceSource | None = None

    @property
    def key(self) -> str:
        """The cell's name in the grid's form fields."""
        return f"{self.enrolment_id}-{self.day_id}"

    @property
    def token(self) -> str:
        """The cell's value as the page was drawn."""
        return token(self.present, self.minutes)

    @property
    def choice(self) -> str:
        """The grid select's value."""
        return "" if self.present is None else ("present" if self.present else "absent")


_OFFERING = select(Offering).options(
    joinedload(Offering.item),
    selectinload(Offering.days),
    selectinload(Offering.facilitators),
)


def load_offering(session: Session, offering_id: int) -> Offering:
    """A module offering with its item, days and facilitators, or NotFound (three queries)."""
    offering = session.scalar(_OFFERING.where(Offering.id == offering_id))
    if offering is None:
        raise NotFound("No such offering.")
    require_module(offering)
    return offering


def enrolled(session: Session, offering_id: int) -> list[Enrolment]:
    """The people holding a place in the offering, by name, with their accounts (one query)."""
    enrolments = session.scalars(
        select(Enrolment)
        .options(joinedload(Enrolment.user))
        .where(Enrolment.offering_id == offering_id, Enrolment.status.in_(PLACE_HOLDING))
    ).all()
    return sorted(enrolments, key=lambda e: (e.user.name.lower(), e.id))


def recorded(session: Session, day_ids: Iterable[int]) -> dict[tuple[int, int], Attendance]:
    """Every attendance row of these days by (enrolment id, day id) (one query)."""
    ids = list(day_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(Attendance).where(Attendance.offering_day_id.in_(bindparam("days", expanding=True))),
        {"days": ids},
    )
    return {(a.enrolment_id, a.offering_day_id): a for a in rows}


def day_records(
    days: Sequence[OfferingDay], enrolment_id: int, marks: dict[tuple[int, int], Attendance]
) -> list[DayRecord]:
    """One person's days as the policy reads them."""
    records = []
    for day in days:
        mark = marks.get((enrolment_id, day.id))
        records.append(
            DayRecord(
                held_on=day.held_on,
                ce_hours=day.ce_hours,
                length=day.minutes,
                present=None if mark is None else mark.present,
                minutes=None if mark is None else mark.minutes,
            )
        )
    return records


def put_cell(
    session: Session,
    marks: dict[tuple[int, int], Attendance],
    enrolment: Enrolment,
    day: OfferingDay,
    *,
    present: bool | None,
    minutes: int | None,
    source: AttendanceSource,
    actor_id: int | None,
    why: str,
) -> bool:
    """Make one person's attendance on one day this (None: not recorded), audited; whether it
    changed. `marks` holds the rows already read and is kept up to date."""
    key = (enrolment.id, day.id)
    row = marks.get(key)
    before = (row.present, row.minutes, row.source) if row is not None else (None, None, None)
    if present is None:
        if row is None:
            return False
        session.delete(row)
        del marks[key]
    elif row is None:
        row = Attendance(
            enrolment_id=enrolment.id,
            offering_day_id=day.id,
            present=present,
            minutes=minutes,
            source=source,
            updated_by_id=actor_id,
        )
        session.add(row)
        marks[key] = row
    elif before == (present, minutes, source):
        return False
    else:
        row.present, row.minutes, row.source = present, minutes, source
        row.updated_by_id = actor_id
    record_event_of(
        session,
        "enrolment",
        enrolment,
        "attendance.recorded" if present is not None else "attendance.cleared",
        actor_id=actor_id,
        offering_id=day.offering_id,
        day=day.held_on,
        present=present,
        minutes=minutes,
        source=source.value if present is not None else None,
        previous=[before[0], before[1]],
        why=why,
    )
    return True


def report_minutes(session: Session, day_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """{day id: {enrolment id: minutes}} from the participant reports kept for the days, with
    an entry (maybe empty) for every day that has a report (one query)."""
    found: dict[int, dict[int, int]] = {}
    if not day_ids:
        return found
    rows = session.execute(
        select(
            ParticipantRow.offering_day_id,
            ParticipantRow.enrolment_id,
            func.sum(ParticipantRow.minutes),
        )
        .where(ParticipantRow.offering_day_id.in_(bindparam("days", expanding=True)))
        .group_by(ParticipantRow.offering_day_id, ParticipantRow.enrolment_id),
        {"days": list(day_ids)},
    )
    for day_id, enrolment_id, minutes in rows:
        per_day = found.setdefault(day_id, {})
        if enrolment_id is not None:
            per_day[enrolment_id] = int(minutes or 0)
    return found


def from_report(
    rules: AttendancePolicy, day: OfferingDay, minutes: int
) -> tuple[bool, int, AttendanceSource]:
    """The cell a participant report gives: its minutes, present when they meet the share."""
    return bool(rules.attended(minutes, day.minutes)), minutes, AttendanceSource.REPORT


@dataclass
class ReportMarking:
    """Cells put from participant reports in one pass: the session, the rows already read
    (kept up to date), the policy that judges the minutes, who puts them and why."""

    session: Session
    marks: dict[tuple[int, int], Attendance]
    rules: AttendancePolicy
    actor_id: int | None
    why: str

    def source(self, enrolment: Enrolment, day: OfferingDay) -> AttendanceSource | None:
        """Where the person's cell for the day came from (None: not recorded)."""
        mark = self.marks.get((enrolment.id, day.id))
        return mark.source if mark is not None else None

    def put(self, enrolment: Enrolment, day: OfferingDay, minutes: int) -> tuple[bool, bool]:
        """The cell the report's minutes give, put and audited: (present, whether it changed)."""
        present, total, source = from_report(self.rules, day, minutes)
        changed = put_cell(
            self.session,
            self.marks,
            enrolment,
            day,
            present=present,
            minutes=total,
            source=source,
            actor_id=self.actor_id,
            why=self.why,
        )
        return present, changed

"""Attendance per day of a module offering: the grid, who may fill it, and saving its cells.

Every attendance row is written by `put_cell` here (the grid, a participant report, a match
made by hand); `policy` is the one reading of the catalogue's attendance policy, judged by
lms.catalog.attendance_policy. Retreats keep their own per-person marking (lms.retreats).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lms.audit.services import record_event
from lms.auth.models import Role, User
from lms.catalog.attendance_policy import AttendancePolicy, DayRecord, Verdict, judge
from lms.catalog.models import Offering, OfferingDay, OfferingStatus
from lms.catalog.services import programme_settings
from lms.clock import today as programme_today
from lms.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.offerings.models import (
    PLACE_HOLDING,
    Attendance,
    AttendanceSource,
    Enrolment,
    ParticipantRow,
    ReportMatch,
)
from lms.offerings.places import lock_offering
from lms.progress.models import Completion, awarded_hours

MAX_MINUTES = 24 * 60
CHOICES = ("", "present", "absent")  # not recorded / present / absent, as the grid's selects


def policy(session: Session) -> AttendancePolicy:
    """The programme's attendance policy, as the catalogue file set it."""
    return AttendancePolicy.from_settings(programme_settings(session))


def _fmt(day: date) -> str:
    """A date as messages print it."""
    return f"{day:%d %b %Y}"


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
        raise Conflict("This offering is cancelled: it has no attendance to take.")


def check_day_open(day: OfferingDay, today: date) -> None:
    """A day's attendance is taken from that day on."""
    if day.held_on > today:
        raise Conflict(f"Attendance for {_fmt(day.held_on)} can be taken from that day on.")


def token(present: bool | None, minutes: int | None) -> str:
    """A cell's value in one string (`1:420`, `0:`, `:`): what the grid was drawn with, so a
    save changes only the cells its author changed."""
    mark = "" if present is None else ("1" if present else "0")
    return f"{mark}:{'' if minutes is None else minutes}"


# --------------------------------------------------------------------------- the grid


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


@dataclass(frozen=True)
class GridDay:
    """A column of the grid: an offering day, whether it can be taken yet, its report."""

    day: OfferingDay
    length: int | None
    needed: int | None  # minutes that count as attending (None: the day's hours are not set)
    open: bool  # attendance can be taken (the day has come, the offering is not settled)
    report_rows: int = 0  # rows of the participant report imported for the day
    to_match: list[ParticipantRow] = field(default_factory=list)  # guests, unknown, by hand


@dataclass(frozen=True)
class GridRow:
    """A person holding a place, their cells day by day, and what they would earn."""

    enrolment: Enrolment
    cells: tuple[Cell, ...]
    verdict: Verdict
    awarded: Decimal | None = None  # CE hours of the completion closing recorded (closed only)
    completed: bool = False  # closing recorded a completion from this offering


@dataclass(frozen=True)
class AttendanceGrid:
    """An offering's attendance: enrolled people by days, with the policy that judges them."""

    offering: Offering
    days: list[GridDay]
    rows: list[GridRow]
    policy: AttendancePolicy
    may_edit: bool
    today: date

    @property
    def editable(self) -> bool:
        """Some cell can be changed by this person now."""
        return self.may_edit and any(d.open for d in self.days)

    @property
    def unrecorded(self) -> int:
        """Cells of days already held with nothing recorded (closing counts them absent)."""
        held = {d.day.id for d in self.days if d.day.held_on <= self.today}
        return sum(1 for r in self.rows for c in r.cells if c.day_id in held and c.present is None)

    @property
    def close_problem(self) -> str | None:
        """Why the offering cannot be closed now (None: it can)."""
        o = self.offering
        if o.status == OfferingStatus.CLOSED:
            return "This offering is closed."
        if o.status == OfferingStatus.CANCELLED:
            return "This offering is cancelled."
        if self.today < o.ends_on:
            return f"It can be closed from its last day, {_fmt(o.ends_on)}."
        return None

    @property
    def people(self) -> list[tuple[int, str]]:
        """(enrolment id, name) of everyone on the grid, for matching report rows by hand."""
        return [(r.enrolment.id, r.enrolment.user.name) for r in self.rows]


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


def _report_rows(session: Session, day_ids: list[int]) -> list[ParticipantRow]:
    """Every kept participant-report row of these days, in file order (one query)."""
    if not day_ids:
        return []
    return list(
        session.scalars(
            select(ParticipantRow)
            .where(ParticipantRow.offering_day_id.in_(bindparam("days", expanding=True)))
            .order_by(ParticipantRow.offering_day_id, ParticipantRow.line),
            {"days": day_ids},
        )
    )


def _awarded(session: Session, offering: Offering) -> dict[int, Decimal | None]:
    """{user id: CE hours} of the live completions this offering's closing recorded (one
    query; none before it closes)."""
    if offering.status != OfferingStatus.CLOSED:
        return {}
    rows = session.execute(
        select(Completion.user_id, Completion.ce_hours).where(
            Completion.offering_id == offering.id, Completion.revoked_at.is_(None)
        )
    )
    return {user_id: awarded_hours(hours, offering.item.ce_hours) for user_id, hours in rows}


def attendance_grid(
    session: Session, offering_id: int, *, viewer: User, today: date | None = None
) -> AttendanceGrid:
    """The offering's grid as this person sees it (a constant number of queries, however
    many people and days)."""
    offering = load_offering(session, offering_id)
    today = today or programme_today(session)
    rules = policy(session)
    days = list(offering.days)
    people = enrolled(session, offering_id)
    marks = recorded(session, [d.id for d in days])
    report = _report_rows(session, [d.id for d in days])
    awarded = _awarded(session, offering)
    editable = may_edit(viewer, offering) and offering.status == OfferingStatus.SCHEDULED
    per_day: dict[int, list[ParticipantRow]] = defaultdict(list)
    for row in report:
        per_day[row.offering_day_id].append(row)
    grid_days = [
        GridDay(
            day=day,
            length=day.minutes,
            needed=rules.needed(day.minutes) if day.minutes else None,
            open=editable and day.held_on <= today,
            report_rows=len(per_day[day.id]),
            to_match=[r for r in per_day[day.id] if r.match != ReportMatch.EMAIL],
        )
        for day in days
    ]
    rows = []
    for enrolment in people:
        cells = []
        for day in days:
            mark = marks.get((enrolment.id, day.id))
            cells.append(
                Cell(enrolment.id, day.id)
                if mark is None
                else Cell(enrolment.id, day.id, mark.present, mark.minutes, mark.source)
            )
        rows.append(
            GridRow(
                enrolment=enrolment,
                cells=tuple(cells),
                verdict=judge(day_records(days, enrolment.id, marks), rules),
                awarded=awarded.get(enrolment.user_id),
                completed=enrolment.user_id in awarded,
            )
        )
    return AttendanceGrid(
        offering=offering,
        days=grid_days,
        rows=rows,
        policy=rules,
        may_edit=may_edit(viewer, offering),
        today=today,
    )


# --------------------------------------------------------------------------- writing cells


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
    record_event(
        session,
        actor_id=actor_id,
        action="attendance.recorded" if present is not None else "attendance.cleared",
        subject_type="enrolment",
        subject_id=enrolment.id,
        person_id=enrolment.user_id,
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


@dataclass(frozen=True)
class CellInput:
    """One cell as the grid's form sent it: the select, the minutes, the value it was drawn
    with."""

    enrolment_id: int
    day_id: int
    choice: str
    minutes: int | None
    was: str


def verdict_text(verdict: Verdict) -> str:
    """What a person's days earn, in a line for the grid."""
    hours = f"{verdict.ce_hours.normalize():f} CE hours" if verdict.ce_hours is not None else ""
    if verdict.full:
        return "Meets the policy" + (f": {hours}" if hours else "")
    if verdict.met:
        return f"Partial credit: {hours} (missed {'; '.join(verdict.missed)})"
    return "Does not meet the policy: " + "; ".join(verdict.missed)


@dataclass
class SaveReport:
    """What saving the grid did."""

    saved: list[Cell] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # changed by someone else meanwhile
    current: list[Cell] = field(default_factory=list)  # those cells as they are now
    verdicts: dict[int, Verdict] = field(default_factory=dict)  # of the people touched

    @property
    def message(self) -> str:
        """One line for the page."""
        parts = [f"{len(self.saved)} saved" if self.saved else "Nothing changed"]
        if self.conflicts:
            parts.append(
                f"{len(self.conflicts)} not saved because someone else changed them meanwhile"
            )
        return "; ".join(parts) + "."


def parse_minutes(text: str | None, where: str) -> int | None:
    """Minutes as typed in a cell: empty, or a whole number from 0 to 1440."""
    text = (text or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) > MAX_MINUTES:
        raise InvalidInput(f"{where}: minutes must be a whole number from 0 to {MAX_MINUTES}.")
    return int(text)


def save_cells(
    session: Session,
    offering_id: int,
    cells: Sequence[CellInput],
    *,
    actor: User,
    today: date | None = None,
) -> SaveReport:
    """Save the cells a facilitator changed, all or none (InvalidInput names the first bad
    one). A cell someone else changed since the page was drawn is kept as they left it.

    Present or absent is the facilitator's word; minutes alone are judged by the policy's
    share of the day; a cell emptied goes back to what the day's participant report says,
    or to not recorded when there is none.
    """
    offering = lock_offering(session, offering_id)
    check_editable(offering, actor)
    today = today or programme_today(session)
    rules = policy(session)
    days = {d.id: d for d in offering.days}
    people = {e.id: e for e in enrolled(session, offering_id)}
    marks = recorded(session, list(days))
    report = report_minutes(session, list(days))
    result = SaveReport()
    plan = []
    for cell in cells:
        day, enrolment = days.get(cell.day_id), people.get(cell.enrolment_id)
        if day is None or enrolment is None:
            raise NotFound("That cell is not part of this offering's attendance.")
        where = f"{enrolment.user.name}, {_fmt(day.held_on)}"
        if cell.choice not in CHOICES:
            raise InvalidInput(f"{where}: choose present, absent or nothing.")
        check_day_open(day, today)
        present: bool | None = None if not cell.choice else cell.choice == "present"
        if token(present, cell.minutes) == cell.was:
            continue  # not touched by this person
        mark = marks.get((enrolment.id, day.id))
        now = token(mark.present, mark.minutes) if mark else token(None, None)
        if now != cell.was:
            result.conflicts.append(where)
            result.current.append(
                Cell(enrolment.id, day.id, mark.present, mark.minutes, mark.source)
                if mark
                else Cell(enrolment.id, day.id)
            )
            continue
        source = AttendanceSource.MANUAL
        if present is None and cell.minutes is not None:
            judged = rules.attended(cell.minutes, day.minutes)
            if judged is None:
                raise InvalidInput(
                    f"{where}: the day has no hours set, so minutes alone cannot say whether "
                    "they attended; choose present or absent."
                )
            present = judged
        elif present is None and day.id in report:
            present, minutes, source = from_report(rules, day, report[day.id].get(enrolment.id, 0))
            plan.append((enrolment, day, present, minutes, source))
            continue
        plan.append((enrolment, day, present, cell.minutes, source))
    for enrolment, day, present, minutes, source in plan:
        put_cell(
            session,
            marks,
            enrolment,
            day,
            present=present,
            minutes=minutes,
            source=source,
            actor_id=actor.id,
            why="grid",
        )
        shown = Cell(enrolment.id, day.id) if present is None else None
        result.saved.append(shown or Cell(enrolment.id, day.id, present, minutes, source))
    ordered = list(offering.days)
    for enrolment_id in {cell.enrolment_id for cell in result.saved}:
        result.verdicts[enrolment_id] = judge(day_records(ordered, enrolment_id, marks), rules)
    session.flush()
    return result

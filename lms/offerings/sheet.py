"""The attendance sheet (the grid page) of a module offering: enrolled people by days, what
each would earn under the policy, and saving the cells a facilitator changed (all or none).

Read in a constant number of queries however many people and days; written through
lms.offerings.attendance's `put_cell`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.clock import today as programme_today
from lms.errors import InvalidInput, NotFound
from lms.offerings.attendance import (
    CHOICES,
    MAX_MINUTES,
    Cell,
    check_day_open,
    check_editable,
    day_records,
    enrolled,
    fmt,
    from_report,
    load_offering,
    may_edit,
    policy,
    put_cell,
    recorded,
    report_minutes,
    token,
)
from lms.offerings.attendance_policy import AttendancePolicy, Verdict, judge
from lms.offerings.closing import judging_policy
from lms.offerings.models import (
    AttendanceSource,
    Enrolment,
    Offering,
    OfferingDay,
    OfferingStatus,
    ParticipantRow,
    ReportMatch,
)
from lms.offerings.places import lock_offering
from lms.progress.api import Completion, awarded_hours


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
    """An offering's attendance: enrolled people by days, with the policy that judges them
    (the one its closing used, once closed: lms.offerings.closing.judging_policy)."""

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
    def people(self) -> list[tuple[int, str]]:
        """(enrolment id, name) of everyone on the grid, for matching report rows by hand."""
        return [(r.enrolment.id, r.enrolment.user.name) for r in self.rows]


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
            Completion.offering_id == offering.id, Completion.is_live
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
    rules = judging_policy(session, offering)
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
        where = f"{enrolment.user.name}, {fmt(day.held_on)}"
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

"""A video platform's participant report, one per offering day: read it, fill the day's
attendance from it, and let a facilitator match its guests by hand.

Zoom's participant report (and its look-alikes) has one row per join: name, e-mail, join
time, leave time and duration in minutes, under a header row that names them. Columns are
found by their header, case-insensitively; rows before the header (Zoom's meeting summary)
are skipped. A person who rejoined has several rows: their minutes are summed. A row is tied
to an enrolment only by its e-mail address; guests and unknown addresses are kept for a
facilitator to match by hand, never guessed from a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms import csv_reader, dates, validation
from lms.auth.api import User
from lms.auth.services import normalise_email
from lms.clock import today as programme_today
from lms.errors import InvalidInput, NotFound
from lms.offerings.attendance import (
    MAX_MINUTES,
    ReportMarking,
    check_day_open,
    check_editable,
    enrolled,
    policy,
    recorded,
    report_minutes,
)
from lms.offerings.models import AttendanceSource, OfferingDay, ParticipantRow, ReportMatch
from lms.offerings.places import lock_offering, record_offering_event

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_DURATION = 1_000_000  # minutes read from a duration cell; more is refused unread
HEADER_SEARCH = 30  # rows read looking for the header (Zoom puts a meeting summary first)
# Header names (lower case, spaces collapsed) per column, as Zoom and its peers write them.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name (original name)", "name", "participant", "participant name", "full name"),
    "email": ("user email", "email", "e-mail", "email address", "e-mail address"),
    "join": ("join time", "joined", "first join"),
    "leave": ("leave time", "left", "last leave"),
    "duration": (
        "duration (minutes)",
        "duration",
        "duration (mins)",
        "duration (min)",
        "total duration (minutes)",
        "time in session (minutes)",
    ),
}
TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y %I:%M %p",
)
MAX_NAME = 200
MAX_EMAIL = 254


class ReportError(InvalidInput):
    """A participant report that cannot be read; `problems` name the lines. Nothing changes."""

    def __init__(self, problems: list[str]) -> None:
        """Keep every problem; the message shows the first few."""
        self.problems = problems
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        super().__init__(f"The participant report was not imported: {shown}")


@dataclass
class ReportPerson:
    """One person in a report: their rows summed."""

    line: int
    name: str
    email: str
    minutes: int
    joins: int = 1


@dataclass
class ParsedReport:
    """A participant report read: one entry per person, and the dates its join times name."""

    people: list[ReportPerson] = field(default_factory=list)
    dates: set[date] = field(default_factory=set)


def _header_name(text: str) -> str:
    """A header cell as compared: lower case, spaces collapsed, no byte-order mark."""
    return re.sub(r"\s+", " ", text.replace("\ufeff", "").strip().lower())


def _columns(row: list[str]) -> dict[str, int] | None:
    """{column: index} when the row is the report's header, else None."""
    names = [_header_name(cell) for cell in row]
    found: dict[str, int] = {}
    for column, accepted in HEADERS.items():
        for wanted in accepted:
            if wanted in names:
                found[column] = names.index(wanted)
                break
    has_time = "duration" in found or ("join" in found and "leave" in found)
    return found if "name" in found and has_time else None


def parse_time(text: str) -> datetime | None:
    """A join or leave time in one of the formats reports use (None when it is not one)."""
    text = re.sub(r"\s+", " ", text.strip())
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def _duration(text: str) -> int | None:
    """Minutes from a duration cell (`62`, `62.0`), None when it is not a number."""
    # Bounded by lms.validation before it is converted: int() of "1e999999999" would build a
    # billion-digit number and hold the worker for hours.
    value = validation.decimal_or_none(
        text, minimum=Decimal(0), maximum=Decimal(MAX_DURATION), places=6
    )
    return None if value is None else int(value.to_integral_value())


def _cell(row: list[str], index: int | None) -> str:
    """The row's cell at index ('' when the column is absent or the row is short)."""
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def parse_report(data: bytes | str) -> ParsedReport:
    """Read a participant report (its bytes, or text) through lms.csv_reader: every problem
    is named by line (ReportError), and any problem refuses the whole file."""
    try:
        records = csv_reader.read_records(data)
    except csv_reader.UnreadableCsv as error:
        raise ReportError(error.problems) from None
    columns = None
    body: list[csv_reader.Record] = []
    for at, (_, row) in enumerate(records[:HEADER_SEARCH]):
        columns = _columns(row)
        if columns is not None:
            body = records[at + 1 :]
            break
    if columns is None:
        raise ReportError(
            [
                "no header row naming the columns: expected Zoom's participant report, with "
                "Name (original name), User Email, Join Time, Leave Time and Duration (minutes)"
            ]
        )
    problems: list[str] = []
    report = ParsedReport()
    people: dict[tuple[str, str], ReportPerson] = {}
    for number, row in body:
        if not any(cell.strip() for cell in row):
            continue
        if len(people) > MAX_ROWS or number > MAX_ROWS * 2:
            raise ReportError([f"more than {MAX_ROWS} rows: import one day at a time"])
        person = _person(row, number, columns, problems, report.dates)
        if person is None:
            continue
        key = ("email", person.email) if person.email else ("name", person.name.lower())
        known = people.get(key)
        if known is None:
            people[key] = person
        else:
            known.minutes += person.minutes
            known.joins += 1
            known.name = known.name or person.name
    if problems:
        raise ReportError(problems)
    if not people:
        raise ReportError(["the report has a header but no participant rows"])
    report.people = list(people.values())
    return report


def _person(
    row: list[str],
    number: int,
    columns: dict[str, int],
    problems: list[str],
    dates: set[date],
) -> ReportPerson | None:
    """One row as a person with minutes, or None with the problem noted."""
    name = validation.trim(_cell(row, columns.get("name")))
    email = normalise_email(_cell(row, columns.get("email")))
    for label, text, limit in (("name", name, MAX_NAME), ("e-mail", email, MAX_EMAIL)):
        if problem := validation.line_problem(text, limit):
            problems.append(f"line {number}: {label}: {problem[:1].lower()}{problem[1:]}")
            return None
    if not name and not email:
        problems.append(f"line {number}: no name and no e-mail")
        return None
    joined = parse_time(_cell(row, columns.get("join")))
    left = parse_time(_cell(row, columns.get("leave")))
    if joined is not None:
        dates.add(joined.date())
    minutes = None
    if "duration" in columns:
        raw = _cell(row, columns["duration"])
        minutes = _duration(raw)
        if minutes is None:
            problems.append(f"line {number}: duration {raw!r} is not a number of minutes")
            return None
    elif joined is not None and left is not None and left >= joined:
        minutes = int((left - joined).total_seconds() // 60)
    else:
        problems.append(f"line {number}: the join and leave times cannot be read")
        return None
    if not 0 <= minutes <= MAX_MINUTES:
        problems.append(f"line {number}: {minutes} minutes is not a day's attendance")
        return None
    return ReportPerson(number, name, email, minutes)


# --------------------------------------------------------------------------- importing


@dataclass
class ImportResult:
    """What importing a day's report did."""

    held_on: date
    rows: int  # people in the report
    matched: list[str] = field(default_factory=list)  # names of enrolled people found by e-mail
    to_match: list[ParticipantRow] = field(default_factory=list)  # guests and unknown e-mails
    kept: list[str] = field(default_factory=list)  # names whose cell was typed by hand (kept)
    present: int = 0
    absent: int = 0

    @property
    def message(self) -> str:
        """One line for the page."""
        text = (
            f"Report for {dates.day(self.held_on)} imported: {len(self.matched)} enrolled people "
            f"found by e-mail; {self.present} present, {self.absent} absent."
        )
        if self.to_match:
            text += f" {len(self.to_match)} rows to match by hand (listed below)."
        if self.kept:
            text += f" Kept as typed by hand: {', '.join(self.kept)}."
        return text


def _offering_day(session: Session, offering_id: int, day_id: int) -> OfferingDay:
    """The day, when it belongs to the offering (NotFound otherwise)."""
    day = session.get(OfferingDay, day_id)
    if day is None or day.offering_id != offering_id:
        raise NotFound("No such day in this offering.")
    return day


def import_report(
    session: Session,
    offering_id: int,
    day_id: int,
    data: bytes | str,
    *,
    actor: User,
    today: date | None = None,
) -> ImportResult:
    """Fill one day's attendance from its participant report, replacing the day's earlier
    report (and the matches made by hand on it); cells typed by hand are kept.

    Everyone holding a place gets the minutes of the rows whose e-mail is theirs (none: 0
    minutes, absent), present when they reach the policy's share of the day.
    """
    parsed = parse_report(data)
    offering = lock_offering(session, offering_id)
    check_editable(offering, actor)
    day = _offering_day(session, offering_id, day_id)
    check_day_open(day, today or programme_today(session))
    if not day.minutes:
        raise InvalidInput(
            f"{dates.day(day.held_on)} has no hours set: give the offering's days their start "
            "and end times first (the minutes attended are judged against them)."
        )
    if parsed.dates and day.held_on not in parsed.dates:
        named = ", ".join(f"{dates.day(d)}" for d in sorted(parsed.dates)[:3])
        raise InvalidInput(
            f"The report's join times are on {named}, not {dates.day(day.held_on)}: "
            "import it for the day it reports."
        )
    rules = policy(session)
    people = enrolled(session, offering_id)
    by_email = {e.user.email: e for e in people}
    session.execute(delete(ParticipantRow).where(ParticipantRow.offering_day_id == day.id))
    rows = []
    for person in parsed.people:
        enrolment = by_email.get(person.email) if person.email else None
        rows.append(
            ParticipantRow(
                offering_day_id=day.id,
                line=person.line,
                name=person.name,
                email=person.email,
                minutes=person.minutes,
                joins=person.joins,
                enrolment_id=enrolment.id if enrolment else None,
                match=ReportMatch.EMAIL if enrolment else ReportMatch.UNMATCHED,
            )
        )
    session.add_all(rows)
    session.flush()
    result = ImportResult(held_on=day.held_on, rows=len(rows))
    result.to_match = [r for r in rows if r.match == ReportMatch.UNMATCHED]
    minutes = {r.enrolment_id: 0 for r in rows if r.enrolment_id}
    for row in rows:
        if row.enrolment_id:
            minutes[row.enrolment_id] += row.minutes
    marking = ReportMarking(
        session, recorded(session, [day.id]), rules, actor.id, why="participant report"
    )
    for enrolment in people:
        if enrolment.id in minutes:
            result.matched.append(enrolment.user.name)
        if marking.source(enrolment, day) == AttendanceSource.MANUAL:
            result.kept.append(enrolment.user.name)
            continue
        present, _ = marking.put(enrolment, day, minutes.get(enrolment.id, 0))
        result.present += present
        result.absent += not present
    record_offering_event(
        session,
        offering_id,
        "attendance.report_imported",
        actor_id=actor.id,
        day=day.held_on,
        rows=len(rows),
        matched=len(result.matched),
        to_match=len(result.to_match),
        kept_as_typed=len(result.kept),
    )
    session.flush()
    return result


def import_report_file(
    session: Session, offering_id: int, held_on: date, path: Path | str, *, actor: User
) -> ImportResult:
    """Import a participant report file for the offering's day on `held_on` (the demo's and
    scripts' way in; the page uploads the same text)."""
    day = session.scalar(
        select(OfferingDay).where(
            OfferingDay.offering_id == offering_id, OfferingDay.held_on == held_on
        )
    )
    if day is None:
        raise NotFound(f"The offering has no day on {dates.day(held_on)}.")
    return import_report(session, offering_id, day.id, Path(path).read_bytes(), actor=actor)


def match_row(
    session: Session,
    offering_id: int,
    row_id: int,
    enrolment_id: int | None,
    *,
    actor: User,
) -> ParticipantRow:
    """Tie a report row (a guest, an unknown e-mail) to an enrolled person, or untie it (None);
    the days' attendance of both people follows, unless typed by hand."""
    offering = lock_offering(session, offering_id)
    check_editable(offering, actor)
    row = session.get(ParticipantRow, row_id)
    if row is None:
        raise NotFound("No such report row.")
    day = _offering_day(session, offering_id, row.offering_day_id)
    if row.match == ReportMatch.EMAIL:
        raise InvalidInput("This row was matched by its e-mail address; it stays as it is.")
    people = {e.id: e for e in enrolled(session, offering_id)}
    if enrolment_id is not None and enrolment_id not in people:
        raise NotFound("That person does not hold a place in this offering.")
    before = row.enrolment_id
    if before == enrolment_id:
        return row
    row.enrolment_id = enrolment_id
    row.match = ReportMatch.HAND if enrolment_id is not None else ReportMatch.UNMATCHED
    session.flush()
    record_offering_event(
        session,
        offering_id,
        "attendance.report_row_matched",
        actor_id=actor.id,
        person_id=people[enrolment_id].user_id if enrolment_id is not None else None,
        day=day.held_on,
        row=row.id,  # the row's name and address stay out of the log (guests' data)
        minutes=row.minutes,
        enrolment_id=enrolment_id,
        previous=before,
    )
    rules = policy(session)
    marking = ReportMarking(
        session, recorded(session, [day.id]), rules, actor.id, why="report row matched by hand"
    )
    totals = report_minutes(session, [day.id]).get(day.id, {})
    for touched in (before, enrolment_id):
        enrolment = people.get(touched) if touched is not None else None
        if enrolment is None:
            continue
        if marking.source(enrolment, day) == AttendanceSource.MANUAL:
            continue  # typed by hand: the facilitator's word stands
        marking.put(enrolment, day, totals.get(enrolment.id, 0))
    session.flush()
    return row


def rejudge_days(
    session: Session, offering_id: int, days: Sequence[OfferingDay], *, actor_id: int
) -> int:
    """The attendance the participant reports gave on these days judged again against the
    days' hours as they are now (a facilitator changed them after the report was imported);
    cells typed by hand stay as typed. How many cells changed (each audited by put_cell)."""
    totals = report_minutes(session, [day.id for day in days])
    reported = [day for day in days if day.id in totals]
    if not reported:
        return 0
    rules = policy(session)
    marks = recorded(session, [day.id for day in reported])
    marking = ReportMarking(session, marks, rules, actor_id, why="the day's hours changed")
    changed = 0
    for enrolment in enrolled(session, offering_id):
        for day in reported:
            if marking.source(enrolment, day) != AttendanceSource.REPORT:
                continue  # not from the report: typed by hand, or not recorded at all
            changed += marking.put(enrolment, day, totals[day.id].get(enrolment.id, 0))[1]
    return changed

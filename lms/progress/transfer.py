"""Completion history in and out as CSV (email,item,completed_on,note): all-or-nothing import.

The import checks every row before it writes anything and reports every problem with its
line number, so a file is fixed in one pass; then it records the rows through the same
insert as an instructor's mark (source "import", bulk), in one transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import csv_reader, csv_safe, validation
from lms.auth.api import User
from lms.auth.services import accounts_and_clinicians, normalise_email
from lms.catalog.api import CatalogItem
from lms.errors import DomainError, InvalidInput
from lms.progress import services
from lms.progress.models import Completion, CompletionSource

COLUMNS = ("email", "item", "completed_on", "note")
REQUIRED = ("email", "item", "completed_on")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class ImportRefused(InvalidInput):
    """The file has problems; nothing was imported. `problems` lists them by line."""

    def __init__(self, problems: list[str]) -> None:
        """Keep every problem; the message counts them."""
        super().__init__(f"The file has {len(problems)} problem(s); nothing was imported.")
        self.problems = problems


@dataclass(frozen=True)
class CsvRow:
    """One data row as read, with the line it starts on."""

    line: int
    email: str
    item: str
    completed_on: str
    note: str


@dataclass(frozen=True)
class ImportReport:
    """What an import recorded."""

    completion_ids: list[int]
    clinicians: int
    by_item: dict[str, int]


def parse_csv(data: bytes | str) -> list[CsvRow]:
    """Read the rows of a completions file (its bytes, or text) through lms.csv_reader;
    ImportRefused when it cannot be read or its header is wrong."""
    try:
        records = csv_reader.read_records(data)
    except csv_reader.UnreadableCsv as error:
        raise ImportRefused(error.problems) from None
    if not records:
        raise ImportRefused(
            ["line 1: the file is empty (expected the header email,item,completed_on,note)"]
        )
    header = records[0]
    names = [h.strip().lower() for h in header.cells]
    problems = [f"line {header.line}: unknown column {h!r}" for h in names if h not in COLUMNS]
    problems += [
        f"line {header.line}: the column {c!r} is missing" for c in REQUIRED if c not in names
    ]
    if problems:
        raise ImportRefused(problems)
    index = {name: names.index(name) for name in COLUMNS if name in names}
    rows = []
    for start, record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue  # blank lines are harmless

        def cell(name: str, record: list[str] = record) -> str:
            at = index.get(name)
            return (
                csv_safe.restore(record[at].strip()) if at is not None and at < len(record) else ""
            )

        rows.append(
            CsvRow(
                start,
                normalise_email(cell("email")),  # as sign-in finds it
                cell("item"),
                cell("completed_on"),
                cell("note"),
            )
        )
    return rows


def _lower(message: str) -> str:
    """A message continued after "the note: " (no capital, no full stop)."""
    return message[:1].lower() + message[1:].rstrip(".")


def _parse_date(raw: str, session: Session) -> date:
    """A YYYY-MM-DD date, checked like every completion date."""
    if not _ISO_DATE.match(raw):
        raise InvalidInput(f"completed_on {raw!r} is not a date in the form YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"completed_on {raw!r} is not a real date") from None
    return services.check_completion_date(parsed, session)


def import_completions(
    session: Session, rows: list[CsvRow], *, actor_id: int | None
) -> ImportReport:
    """Check every row, then record them all (or raise ImportRefused and change nothing)."""
    if not rows:
        raise ImportRefused(["the file has a header but no rows"])
    # Only addresses that are text can be looked up (PostgreSQL refuses a NUL in a query).
    emails = {r.email for r in rows if r.email and not validation.line_problem(r.email, None)}
    found, clinicians = accounts_and_clinicians(session, User.email.in_(emails))
    users = {u.email: u for u in found}
    items = {i.code: i for i in session.scalars(select(CatalogItem))}
    live = {
        (user_id, item_id): when
        for user_id, item_id, when in session.execute(
            select(Completion.user_id, Completion.item_id, Completion.completed_on).where(
                Completion.user_id.in_([u.id for u in users.values()]),
                Completion.is_live,
            )
        )
    }

    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    checked: list[tuple[CsvRow, User, CatalogItem, date]] = []
    for row in rows:
        found: list[str] = []
        user = users.get(row.email)
        if not row.email:
            found.append("the e-mail is missing")
        elif user is None:
            found.append(f"no account has the e-mail {row.email!r}")
        elif services.person_unrecordable(
            is_clinician=user.id in clinicians, anonymised=user.anonymised_at is not None
        ):
            found.append(f"{row.email} is not a clinician")
        item = items.get(row.item)
        if not row.item:
            found.append("the item is missing")
        elif item is None:
            found.append(f"unknown item {row.item!r}")
        elif services.item_unrecordable(item, CompletionSource.IMPORT):
            found.append(f"the item {row.item} is no longer offered")
        try:
            completed_on = _parse_date(row.completed_on, session)
        except DomainError as error:
            found.append(error.message.rstrip("."))
            completed_on = None
        for label, value in (("e-mail", row.email), ("item", row.item)):
            if problem := validation.line_problem(value, None):
                found.append(f"the {label}: {_lower(problem)}")
        if problem := validation.text_problem(row.note, services.NOTE_MAX):
            found.append(f"the note: {_lower(problem)}")
        key = (row.email, row.item)
        if row.email and row.item and key in seen:
            found.append(f"duplicate of line {seen[key]} (same e-mail and item)")
        else:
            seen.setdefault(key, row.line)
        if user is not None and item is not None and (user.id, item.id) in live:
            found.append(
                f"{row.email} already has {row.item} recorded as completed on "
                f"{live[(user.id, item.id)].isoformat()}"
            )
        if found:
            problems.extend(f"line {row.line}: {message}" for message in found)
        elif user is not None and item is not None and completed_on is not None:
            checked.append((row, user, item, completed_on))
    if problems:
        raise ImportRefused(problems)

    ids: list[int] = []
    with services.watch_many(session, [user.id for _, user, _, _ in checked]):
        for row, user, item, completed_on in checked:
            mark = services.Marking(item, completed_on, CompletionSource.IMPORT, actor_id, row.note)
            completion = services.insert_checked_completion(session, user, mark, bulk=True)
            ids.append(completion.id)
    return ImportReport(
        completion_ids=ids,
        clinicians=len({user.id for _, user, _, _ in checked}),
        by_item=dict(Counter(item.code for _, _, item, _ in checked)),
    )


def export_completions(session: Session) -> str:
    """Every live completion as CSV in the import format, by e-mail then programme order."""
    rows = session.execute(
        select(User.email, CatalogItem.code, Completion.completed_on, Completion.note)
        .join(User, Completion.user_id == User.id)
        .join(CatalogItem, Completion.item_id == CatalogItem.id)
        .where(Completion.is_live)
        .order_by(User.email, CatalogItem.position, CatalogItem.code)
    )
    lines = ((email, code, day.isoformat(), note or "") for email, code, day, note in rows)
    return csv_safe.write_csv(COLUMNS, lines, lineterminator="\n")

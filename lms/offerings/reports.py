"""Reports an accredited provider files: an offering's attendance and CE roster (CSV), its
printable attendance record (PDF), and every CE award of a period (CSV).

Every CSV goes through lms.csv_safe (no cell runs as a formula). The PDF is built from plain
values and rendered by the certificates' WeasyPrint renderer, whose URL fetcher serves only
the design folder's own files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from lms import dates, validation
from lms.auth.api import User
from lms.catalog.api import CatalogItem, ItemKind
from lms.catalog.services import programme_settings
from lms.certificates.api import Certificate, format_date, format_hours, programme_facts
from lms.clock import local_date_or_none
from lms.csv_safe import write_csv
from lms.errors import InvalidInput
from lms.i18n import translate
from lms.offerings.models import Offering, OfferingFormat
from lms.offerings.sheet import AttendanceGrid, GridRow, attendance_grid
from lms.progress.api import Completion, CompletionSource, awarded_hours, total_hours

RECORD_DESIGN = "attendance-record.html"
MAX_PERIOD_DAYS = 3 * 366 + 1  # the longest period one export covers (three years)


def _minutes(row: GridRow) -> int:
    """Minutes recorded for the person over every day."""
    return sum(c.minutes or 0 for c in row.cells)


def _attended(grid: AttendanceGrid, row: GridRow) -> list[date]:
    """The days the person is recorded present."""
    days = {d.day.id: d.day.held_on for d in grid.days}
    return [days[c.day_id] for c in row.cells if c.present]


def _licence(user: User) -> tuple[str, str, str]:
    """Licence type, number and state ('' for what is not known)."""
    return user.licence_type or "", user.licence_number or "", user.licence_state or ""


def roster_csv(grid: AttendanceGrid, evaluated: set[int] | frozenset[int] = frozenset()) -> str:
    """The offering's attendance and CE roster: one line per person holding a place, with
    their licence, the days and minutes attended, the CE hours closing awarded, and whether
    they submitted the CE evaluation (`evaluated`: their user ids; blank without a completion).
    """
    days = [d.day for d in grid.days]
    header = [
        "Name",
        "Credentials",
        translate("Licence type"),
        translate("Licence number"),
        translate("Licence state"),
        "E-mail",
        "Status",
        *[f"{day.held_on.isoformat()} minutes" for day in days],
        "Days attended",
        "Dates attended",
        "Minutes attended",
        "CE hours awarded",
        "Evaluation done",
    ]
    lines = []
    for row in grid.rows:
        user = row.enrolment.user
        minutes = []
        for cell in row.cells:
            if cell.present is None:
                minutes.append("")
            else:
                mark = "present" if cell.present else "absent"
                minutes.append(f"{cell.minutes} ({mark})" if cell.minutes is not None else mark)
        attended = _attended(grid, row)
        lines.append(
            [
                user.name,
                user.credentials,
                *_licence(user),
                user.email,
                row.enrolment.status.label,
                *minutes,
                f"{len(attended)} of {len(days)}",
                "; ".join(d.isoformat() for d in attended),
                _minutes(row),
                format_hours(row.awarded) if row.completed else "",
                ("yes" if user.id in evaluated else "no") if row.completed else "",
            ]
        )
    return write_csv(header, lines)


def roster_filename(grid: AttendanceGrid) -> str:
    """`attendance-M2-2027-01-12.csv`."""
    return f"attendance-{grid.offering.item.code}-{grid.offering.starts_on.isoformat()}"


# --------------------------------------------------------------------------- the PDF record


def _mark(cell: Any) -> str:
    """A cell as the printed record shows it."""
    if cell.present is None:
        return "—"
    mark = "Present" if cell.present else "Absent"
    return f"{mark} · {cell.minutes} min" if cell.minutes is not None else mark


def record_content(
    grid: AttendanceGrid,
    *,
    settings: dict[str, Any],
    facilitators: list[str],
    today: date,
    closed_on: date | None = None,
) -> dict[str, Any]:
    """What the printed attendance record says, as plain values (`closed_on`: the programme's
    date of the closing, lms.clock.local_date of `closed_at`)."""
    offering = grid.offering
    facts = programme_facts(settings)
    where = offering.location if offering.format == OfferingFormat.IN_PERSON else ""
    return {
        "provider_name": facts["provider_name"],
        "provider_address": facts["provider_address"],
        "page_size": facts["page_size"],
        "ce_type": facts["ce_type"],
        "signatory_name": facts["signatory_name"],
        "signatory_title": facts["signatory_title"],
        "title": offering.item.title,
        "item_code": offering.item.code,
        "format": offering.format.label + (f", {where}" if where else ""),
        "dates_text": (
            format_date(offering.starts_on)
            if offering.starts_on == offering.ends_on
            else f"{format_date(offering.starts_on)} – {format_date(offering.ends_on)}"
        ),
        "facilitators": ", ".join(facilitators),
        "policy": grid.policy.describe(),
        "status": offering.state(today).label,
        "closed_on_text": format_date(closed_on) if closed_on else "",
        "days": [
            {
                "date_text": f"{dates.day(d.day.held_on, weekday=True)}",
                "hours_text": (
                    f"{d.day.starts_at:%H:%M}–{d.day.ends_at:%H:%M}" if d.day.starts_at else ""
                ),
                "ce_hours": format_hours(d.day.ce_hours),
            }
            for d in grid.days
        ],
        "people": [
            {
                "name": row.enrolment.user.name,
                "credentials": row.enrolment.user.credentials or "",
                "licence": " ".join(p for p in _licence(row.enrolment.user) if p),
                "marks": [_mark(c) for c in row.cells],
                "days_attended": f"{len(_attended(grid, row))} of {len(grid.days)}",
                "minutes": _minutes(row),
                "status": row.enrolment.status.label,
                "ce_hours": format_hours(row.awarded) if row.completed else "",
            }
            for row in grid.rows
        ],
        "total_ce_hours": format_hours(total_hours(r.awarded for r in grid.rows if r.completed)),
        "generated_on_text": format_date(today),
    }


def record_pdf(content: dict[str, Any]) -> bytes:
    """The printable attendance record (WeasyPrint, fetching only the design folder's files)."""
    from lms.certificates.api import html_to_pdf, jinja_env

    return html_to_pdf(jinja_env().get_template(RECORD_DESIGN).render(**content))


def offering_record(
    session: Session, offering_id: int, *, viewer: User, today: date
) -> tuple[AttendanceGrid, dict[str, Any]]:
    """The grid and the printed record's content of an offering (a constant number of
    queries)."""
    grid = attendance_grid(session, offering_id, viewer=viewer, today=today)
    ids = [f.user_id for f in grid.offering.facilitators]
    names = list(
        session.scalars(
            select(User.name)
            .where(User.id.in_(bindparam("ids", expanding=True)))
            .order_by(User.name),
            {"ids": ids or [0]},
        )
    )
    content = record_content(
        grid,
        settings=programme_settings(session),
        facilitators=names,
        today=today,
        closed_on=local_date_or_none(grid.offering.closed_at, session),
    )
    return grid, content


# --------------------------------------------------------------------------- CE awards


@dataclass(frozen=True)
class Period:
    """The dates a CE award export covers, both included."""

    starts_on: date
    ends_on: date

    @classmethod
    def of(cls, starts_on: date | None, ends_on: date | None) -> Period:
        """A checked period (InvalidInput when it is missing, backwards or too long)."""
        if starts_on is None or ends_on is None:
            raise InvalidInput("Give the first and the last day of the period.")
        validation.sensible_date(starts_on, "From")
        validation.sensible_date(ends_on, "To")
        if ends_on < starts_on:
            raise InvalidInput("The period's last day is before its first day.")
        if (ends_on - starts_on).days > MAX_PERIOD_DAYS:
            raise InvalidInput("A period covers at most three years; export it in parts.")
        return cls(starts_on, ends_on)


AWARD_HEADER = (
    "Name",
    "E-mail",
    "Profession / credentials",
    "Licence type",
    "Licence number",
    "Licence state",
    "Activity code",
    "Activity title",
    "Format",
    "Activity dates",
    "Completion date",
    "CE hours",
    "Credit type",
    "Recorded as",
    "Certificate serial",
)


def ce_awards(session: Session, period: Period) -> list[list[Any]]:
    """Every live completion of the period that carries CE hours, as export rows, by date
    then name (one query)."""
    offering = aliased(Offering)
    current = and_(
        Certificate.completion_id == Completion.id,
        Certificate.is_current,
    )
    rows = session.execute(
        select(
            Completion.completed_on,
            Completion.source,
            Completion.ce_hours,
            User.name,
            User.email,
            User.credentials,
            User.licence_type,
            User.licence_number,
            User.licence_state,
            CatalogItem.code,
            CatalogItem.title,
            CatalogItem.format,
            CatalogItem.ce_hours,
            offering.format,
            offering.starts_on,
            offering.ends_on,
            Certificate.serial,
        )
        .join(User, User.id == Completion.user_id)
        .join(CatalogItem, CatalogItem.id == Completion.item_id)
        .outerjoin(offering, offering.id == Completion.offering_id)
        .outerjoin(Certificate, current)
        .where(
            Completion.is_live,
            Completion.completed_on >= period.starts_on,
            Completion.completed_on <= period.ends_on,
            CatalogItem.kind != ItemKind.RETREAT,
        )
        .order_by(Completion.completed_on, User.name, CatalogItem.code)
    )
    credit = programme_facts(programme_settings(session))["ce_type"]
    found = []
    for r in rows:
        hours = awarded_hours(r[2], r[12])
        if not hours:
            continue  # no CE hours: nothing to report to a board
        if r[13] is not None:
            shown = OfferingFormat(r[13]).label
            first, last = r[14], r[15]
            dates = first.isoformat() if first == last else f"{first} to {last}"
        else:
            shown, dates = r[11] or "", r[0].isoformat()
        found.append(
            [
                r[3],
                r[4],
                r[5] or "",
                r[6] or "",
                r[7] or "",
                r[8] or "",
                r[9],
                r[10],
                shown,
                dates,
                r[0].isoformat(),
                format_hours(hours),
                credit,
                CompletionSource(r[1]).label,
                r[16] or "",
            ]
        )
    return found


def ce_awards_csv(session: Session, period: Period) -> str:
    """Every CE award of the period as CSV, formula-safe."""
    return write_csv([translate(name) for name in AWARD_HEADER], ce_awards(session, period))

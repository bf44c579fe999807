"""The staff home page: what waits for the signed-in person, what is coming up, and the
programme in numbers (completions per month, clinicians at each stage).

Other features say what waits for whom through STAFF_HOME (credit requests, screenings,
attendance to mark, upcoming offerings), so this module reads no other feature's tables; its
own numbers are two aggregate queries. Never health data: screenings are counted, not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User
from lms.catalog.api import spine
from lms.clock import today
from lms.db import read
from lms.progress.charts import Bar, bar_chart, column_chart
from lms.progress.facts import Programme, shared_programme
from lms.progress.models import Completion, ItemState, ProgressSummary, Standing

HOME_ROLES = frozenset({Role.INSTRUCTOR, Role.ADMIN, Role.MEDICAL_REVIEWER})
MONTHS_SHOWN = 12


@dataclass(frozen=True)
class Waiting:
    """One kind of work waiting for the person: how much, since when, and where to do it."""

    label: str  # "credit requests to decide"
    count: int
    href: str
    since: date | datetime | None = None  # when the one waiting longest came in
    action: str = "Open"
    since_words: str = "waiting since"  # how `since` is introduced ("last day")
    one: str = ""  # the label when the count is 1 ("credit request to decide")

    @property
    def said(self) -> str:
        """The label that fits the count."""
        return self.one if self.count == 1 and self.one else self.label


@dataclass(frozen=True)
class HomePart:
    """What one feature adds to the staff home: waiting work, and optionally a section."""

    waiting: tuple[Waiting, ...] = ()
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


StaffHomePart = Callable[[Session, User], "HomePart | None"]

STAFF_HOME: list[StaffHomePart] = []
"""Callables other features append to (idempotently, from their `subscribe()`).

Each is called once per staff home view as `fn(session, user)` with the signed-in person
(who holds one of HOME_ROLES), decides by the person's roles what concerns them, runs a
constant number of queries, never writes, never returns health data, and gives a HomePart
or None. A part's template is rendered with its context as a section of the page."""


@dataclass(frozen=True)
class Chart:
    """A chart and the same numbers as rows of a table."""

    svg: Any
    caption: str
    rows: tuple[tuple[str, int], ...]
    column: str  # the table's heading for the label column


@dataclass(frozen=True)
class StaffHome:
    """Everything the staff home shows."""

    waiting: tuple[Waiting, ...]
    sections: tuple[HomePart, ...]
    charts: tuple[Chart, ...]


# --------------------------------------------------------------------------------------------
# The programme in numbers


_YEAR = func.extract("year", Completion.completed_on)
_MONTH = func.extract("month", Completion.completed_on)
_PER_MONTH = (
    select(_YEAR, _MONTH, func.count())
    .where(
        Completion.is_live,
        Completion.completed_on >= bindparam("since"),
        Completion.completed_on <= bindparam("until"),
    )
    .group_by(_YEAR, _MONTH)
)


def last_months(on: date, count: int = MONTHS_SHOWN) -> list[tuple[int, int]]:
    """The (year, month) of the `count` months ending with the month of `on`, oldest first."""
    months = []
    year, month = on.year, on.month
    for _ in range(count):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def completions_by_month(session: Session, on: date) -> list[tuple[int, int, int]]:
    """Live completions per month over the last twelve months, by the date they happened
    (one query); months without any are there with 0."""
    months = last_months(on)
    since = date(*months[0], 1)
    counted = {
        (int(year), int(month)): number
        for year, month, number in read(session, _PER_MONTH, {"since": since, "until": on})
    }
    return [(year, month, counted.get((year, month), 0)) for year, month in months]


def clinicians_by_stage(session: Session, programme: Programme) -> list[tuple[str, int]]:
    """How many clinicians stand at each stage of the pathway's spine (one query).

    The stages are the longest chain of items each needed by the next (for the default
    programme Module 1, the Level 1 retreat, the Advanced retreat), read from the catalogue's
    rules; a clinician stands at the furthest one done or credited, or before the first.
    """
    chain = [programme.by_code[code] for code in spine(programme.items)]
    if not chain:
        return []
    stage = case({item.id: n for n, item in enumerate(chain, start=1)}, value=Standing.item_id)
    furthest = (
        select(Standing.user_id, func.max(stage).label("stage"))
        .where(
            Standing.item_id.in_([item.id for item in chain]),
            Standing.state.in_([ItemState.COMPLETED, ItemState.CREDITED]),
        )
        .group_by(Standing.user_id)
        .subquery()
    )
    at = func.coalesce(furthest.c.stage, 0)
    rows = session.execute(
        select(at, func.count())
        .select_from(ProgressSummary)
        .outerjoin(furthest, furthest.c.user_id == ProgressSummary.user_id)
        .group_by(at)
    )
    counted = {int(n): number for n, number in rows}
    names = [item.short_title or item.title for item in chain]
    labels = [f"Before {names[0]}", *names]
    return [(label, counted.get(n, 0)) for n, label in enumerate(labels)]


def programme_charts(session: Session, programme: Programme, on: date) -> tuple[Chart, ...]:
    """Completions per month and clinicians at each stage, as charts with their numbers."""
    months = completions_by_month(session, on)
    total = sum(number for *_, number in months)
    first, last = dates.month(*months[0][:2]), dates.month(*months[-1][:2])
    busiest = max(months, key=lambda m: m[2])
    said = f"Completions per month, {first} to {last}: {total} in all"
    if total:
        said += f", most in {dates.month(*busiest[:2])} ({busiest[2]})"
    columns = [
        Bar(
            dates.month_abbreviation(month),
            number,
            f"{dates.month(year, month)}: {number} completion{'s' if number != 1 else ''}",
            sublabel=str(year) if month == 1 or index == 0 else "",
        )
        for index, (year, month, number) in enumerate(months)
    ]
    per_month = Chart(
        column_chart(columns, said + "."),
        f"Completions per month, {first} to {last} ({total} in all)",
        tuple((dates.month(year, month), number) for year, month, number in months),
        "Month",
    )
    stages = clinicians_by_stage(session, programme)
    everyone = sum(number for _, number in stages)
    staged = ", ".join(f"{label}: {number}" for label, number in stages)
    by_stage = Chart(
        bar_chart(
            [Bar(label, number, f"{label}: {number} clinicians") for label, number in stages],
            f"Clinicians at each stage ({everyone} in all): {staged}.",
        ),
        f"Clinicians at each stage ({everyone} in all)",
        tuple(stages),
        "Stage",
    )
    return (per_month, by_stage) if stages else (per_month,)


# --------------------------------------------------------------------------------------------
# The page


def staff_home(session: Session, user: User) -> StaffHome | None:
    """The staff home of the person, or None for someone who holds no staff role."""
    if not user.has_role(*HOME_ROLES):
        return None
    parts = [part for contribute in STAFF_HOME if (part := contribute(session, user))]
    waiting = tuple(w for part in parts for w in part.waiting if w.count)
    charts: tuple[Chart, ...] = ()
    if user.is_staff:
        programme = shared_programme(session)  # notes the time zone: today() needs no query
        charts = programme_charts(session, programme, today(session))
    return StaffHome(waiting, tuple(p for p in parts if p.template), charts)

"""The instructor roster: filters and order as indexed SQL on standings."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from lms.auth.api import Role, User, UserRole
from lms.catalog.api import ItemKind, in_locale
from lms.clock import local_date_or_none, today
from lms.errors import InvalidInput
from lms.paging import contains_pattern, contains_text
from lms.progress.dashboard import licence_label
from lms.progress.facts import (
    Programme,
    shared_programme,
)
from lms.progress.models import ItemState, ProgressSummary, Standing
from lms.progress.standings import RowValues
from lms.progress.statuses import item_status
from lms.progress.tracking import licensed_on, met_on, sync

ROSTER_PAGE_SIZE = 50
ROSTER_COUNT_CAP = 1000  # matches counted exactly up to this; beyond it, "more than"


# --------------------------------------------------------------------------------------------
# The instructor roster


@dataclass(frozen=True)
class RetreatCell:
    """One retreat column of a roster row."""

    code: str
    label: str
    badge: str
    explanation: str = ""


@dataclass(frozen=True)
class RosterRow:
    """One clinician's progress at a glance."""

    user_id: int
    name: str
    email: str
    licence: str
    licensed: bool
    modules_done: int
    ce_hours: Decimal
    retreats: list[RetreatCell]
    last_activity: date | None


@dataclass(frozen=True)
class RosterQuery:
    """The roster's filters; they combine (a clinician must pass every one that is set).

    `eligible` (a retreat code) keeps clinicians to whom the retreat is open and who have
    neither completed it nor been credited with it; with `applied` = "no" or "yes" it also asks
    whether they hold a live application to it.
    `missing` (an item code) keeps those who neither completed it nor have an equivalent
    approved. `licence` is "pre-licensed", "unlicensed" (no verified current licence) or
    "licensed". `item` with `item_state` ("completed" / "not_completed") tests one item.
    """

    search: str = ""
    eligible: str = ""
    applied: str = ""
    missing: str = ""
    licence: str = ""
    item: str = ""
    item_state: str = ""
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query-string parameters for this query with changes, empty ones left out."""
        values: dict[str, Any] = {
            "q": self.search,
            "eligible": self.eligible,
            "applied": self.applied,
            "missing": self.missing,
            "licence": self.licence,
            "item": self.item,
            "item_state": self.item_state,
            "page": self.page if self.page != 1 else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


APPLIED_CHOICES = (("", "either way"), ("no", "not yet applied"), ("yes", "applied"))
LICENCE_CHOICES = (
    ("", lazy_gettext("Any licence standing")),
    ("licensed", "Licensed (verified, current)"),
    ("unlicensed", lazy_gettext("No verified, current licence")),
    ("pre-licensed", "Pre-licensed"),
)
ITEM_STATES = (("", "either way"), ("completed", "has completed"), ("not_completed", "has not"))


@dataclass(frozen=True)
class RosterPage:
    """One page of the roster with the choices the filter form offers."""

    rows: list[RosterRow]
    matched: int
    more: bool  # more than `matched` match: the count stopped at ROSTER_COUNT_CAP
    pages: int
    query: RosterQuery
    retreat_choices: list[tuple[str, str]]
    item_choices: list[tuple[str, str]]
    retreat_columns: list[tuple[str, str]]
    modules_total: int
    presets: list[tuple[str, dict[str, str]]]

    @property
    def page(self) -> int:
        """The page shown."""
        return self.query.page

    @property
    def first_index(self) -> int:
        """Position (1-based) of the page's first row among the matches."""
        return (self.page - 1) * ROSTER_PAGE_SIZE + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        """Position of the page's last row among the matches."""
        return (self.page - 1) * ROSTER_PAGE_SIZE + len(self.rows)


def _presets(catalogue: Programme) -> list[tuple[str, dict[str, str]]]:
    """Ready-made filters shown as links above the roster."""
    presets = [
        (
            f"Eligible for {r.short_title or r.title}, not yet applied",
            {"eligible": r.code, "applied": "no"},
        )
        for r in catalogue.retreats[:1]
    ]
    first = next((m for m in catalogue.modules if m.kind == ItemKind.CORE_MODULE), None)
    if first is not None:
        presets.append((f"Missing {first.short_title or first.title}", {"missing": first.code}))
    presets.append(("Pre-licensed", {"licence": "pre-licensed"}))
    return presets


def _check_query(query: RosterQuery, catalogue: Programme) -> None:
    """Refuse filter values the form never offers."""
    if query.eligible and query.eligible not in {r.code for r in catalogue.retreats}:
        raise InvalidInput(f"Unknown retreat {query.eligible!r}.")
    for code in (query.missing, query.item):
        if code and code not in catalogue.by_code:
            raise InvalidInput(f"Unknown item {code!r}.")
    if query.applied not in dict(APPLIED_CHOICES):
        raise InvalidInput("Choose whether they applied: yes, no or either way.")
    if query.licence not in dict(LICENCE_CHOICES):
        raise InvalidInput("Unknown licence filter.")
    if query.item_state not in dict(ITEM_STATES):
        raise InvalidInput("Unknown item state.")


_PERSON_COLUMNS = (
    User.id,
    User.name,
    User.credentials,
    User.email,
    User.pre_licensed,
    User.licence_type,
    User.licence_number,
    User.licence_state,
    User.licence_expires_on,
    User.licence_verified_at,
    User.last_login_at,
)


def clinicians_query(search: str) -> Select[Any]:
    """Clinicians (not anonymised) matching the search on name, e-mail or licence number.

    Plain columns, not User objects: the roster reads thousands of them per request.
    """
    query = (
        select(*_PERSON_COLUMNS)
        .where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.CLINICIAN)),
            User.anonymised_at.is_(None),
        )
        .order_by(func.lower(User.name), User.id)
    )
    term = search.strip()
    if term:
        licence_number = func.coalesce(User.licence_number, "")
        query = query.where(contains_text(term, User.name, User.email, licence_number))
    return query


@dataclass(frozen=True)
class _Filters:
    """A roster query as SQL: conditions on the person, and on one item's standing each."""

    person: list[Any]
    items: list[tuple[int, list[Any]]]  # (item id, conditions on an aliased Standing)

    def joined(self) -> Select[Any]:
        """Matching (user id, sort name), driven by the standings' item indexes."""
        ids = select(ProgressSummary.user_id, ProgressSummary.sort_name)
        for item_id, conditions in self.items:
            row = aliased(Standing)
            ids = ids.join(
                row,
                and_(
                    row.user_id == ProgressSummary.user_id,
                    row.item_id == item_id,
                    *(condition(row) for condition in conditions),
                ),
            )
        return self._with_person(ids)

    def in_order(self) -> Select[Any]:
        """Matching user ids in roster order, driven by the name index (for dense matches)."""
        ids = select(ProgressSummary.user_id)
        for item_id, conditions in self.items:
            row = aliased(Standing)
            ids = ids.where(
                select(row.user_id)
                .where(
                    row.user_id == ProgressSummary.user_id,
                    row.item_id == item_id,
                    *(condition(row) for condition in conditions),
                )
                .exists()
            )
        ordered = ids.order_by(ProgressSummary.sort_name, ProgressSummary.user_id)
        return self._with_person(ordered)

    def _with_person(self, ids: Select[Any]) -> Select[Any]:
        """The statement with the person's conditions (joining users when they need it)."""
        if self.person:
            ids = ids.join(User, User.id == ProgressSummary.user_id).where(*self.person)
        return ids


def _not_done(row: Any) -> Any:
    """SQL: the person has neither completed the item nor been credited with it."""
    return row.state.not_in([ItemState.COMPLETED, ItemState.CREDITED])


def _filters(query: RosterQuery, catalogue: Programme, day: date) -> _Filters:
    """The roster query's filters as SQL over the standings and the summaries."""
    person: list[Any] = []
    term = query.search.strip()
    if term:
        pattern = contains_pattern(term)
        person.append(
            or_(
                ProgressSummary.sort_name.like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(func.coalesce(User.licence_number, "")).like(pattern, escape="\\"),
            )
        )
    if query.licence == "pre-licensed":
        person.append(User.holds_no_licence)
    elif query.licence == "licensed":
        person.append(licensed_on(day))
    elif query.licence == "unlicensed":
        person.append(not_(licensed_on(day)))
    items: list[tuple[int, list[Any]]] = []
    if query.missing:
        items.append((catalogue.by_code[query.missing].id, [_not_done]))
    if query.item and query.item_state:
        wanted = query.item_state == "completed"
        items.append(
            (
                catalogue.by_code[query.item].id,
                [lambda row: (row.state == ItemState.COMPLETED) == wanted],
            )
        )
    if query.eligible:
        conditions: list[Any] = [lambda row: met_on(day, row), _not_done]
        if query.applied:
            applied = query.applied == "yes"
            conditions.insert(1, lambda row: row.applied.is_(applied))
        items.append((catalogue.by_code[query.eligible].id, conditions))
    return _Filters(person, items)


def _page_of_matches(
    session: Session, filters: _Filters, wanted_page: int
) -> tuple[int, bool, int, list[int]]:
    """(matched, more than counted?, page, ids on the page) in one or two indexed queries.

    Counting every match would read them all: at most ROSTER_COUNT_CAP + 1 are read, through
    the standings' item indexes. When that many match, the page comes from the name index
    instead, probing each person's standing until the page is full (quick, as matches are
    dense); when fewer match, they are already read and sorted in memory.
    """
    if not filters.items and not filters.person:
        matched = session.scalar(select(func.count()).select_from(ProgressSummary)) or 0
        capped = False
    else:
        found = session.execute(filters.joined().limit(ROSTER_COUNT_CAP + 1)).all()
        capped = len(found) > ROSTER_COUNT_CAP
        matched = min(len(found), ROSTER_COUNT_CAP)
        if not capped:
            pages = max(1, math.ceil(matched / ROSTER_PAGE_SIZE))
            page = min(max(wanted_page, 1), pages)
            ordered = sorted(found, key=lambda r: (r.sort_name, r.user_id))
            start = (page - 1) * ROSTER_PAGE_SIZE
            return (
                matched,
                False,
                page,
                [r.user_id for r in ordered[start : start + ROSTER_PAGE_SIZE]],
            )
    page = max(wanted_page, 1)
    if not capped:
        page = min(page, max(1, math.ceil(matched / ROSTER_PAGE_SIZE)))
    shown = list(
        session.scalars(
            filters.in_order().limit(ROSTER_PAGE_SIZE).offset((page - 1) * ROSTER_PAGE_SIZE)
        )
    )
    if capped and not shown and page > 1:  # past the end of a long list: its last page
        return _page_of_matches_last(session, filters)
    return matched, capped, page, shown


def _page_of_matches_last(session: Session, filters: _Filters) -> tuple[int, bool, int, list[int]]:
    """The last page of a list longer than the count cap (rare: someone typed a page number)."""
    total = session.scalar(select(func.count()).select_from(filters.joined().subquery())) or 0
    page = max(1, math.ceil(total / ROSTER_PAGE_SIZE))
    shown = list(
        session.scalars(
            filters.in_order().limit(ROSTER_PAGE_SIZE).offset((page - 1) * ROSTER_PAGE_SIZE)
        )
    )
    return total, False, page, shown


def roster(session: Session, query: RosterQuery) -> RosterPage:
    """One page of clinicians with their progress, filtered, in a constant number of queries.

    The filters and the order are indexed SQL over the standings, so only the page's rows
    (and at most ROSTER_COUNT_CAP + 1 matching ids) are read, however many clinicians exist.
    """
    sync(session)
    day = today(session)
    catalogue = shared_programme(session)
    _check_query(query, catalogue)
    matched, more, page, shown = _page_of_matches(
        session, _filters(query, catalogue, day), query.page
    )
    pages = page + 1 if more else max(1, math.ceil(matched / ROSTER_PAGE_SIZE))
    people = {p.id: p for p in session.execute(select(*_PERSON_COLUMNS).where(User.id.in_(shown)))}
    summaries = {
        s.user_id: s
        for s in session.scalars(select(ProgressSummary).where(ProgressSummary.user_id.in_(shown)))
    }
    retreat_ids = [r.id for r in catalogue.retreats]
    cells: dict[tuple[int, int], RowValues] = {
        (r.user_id, r.item_id): RowValues.of(r)
        for r in session.execute(
            select(*Standing.__table__.c).where(
                Standing.user_id.in_(shown), Standing.item_id.in_(retreat_ids)
            )
        )
    }
    rows = []
    for uid in shown:
        person, summary = people[uid], summaries[uid]
        last = summary.last_activity_at
        if person.last_login_at is not None and (last is None or person.last_login_at > last):
            last = person.last_login_at
        rows.append(
            RosterRow(
                user_id=uid,
                name=f"{person.name}, {person.credentials}" if person.credentials else person.name,
                email=person.email,
                licence=licence_label(person, day),
                licensed=User.licensed_on(person, day),
                modules_done=summary.modules_done,
                ce_hours=summary.ce_hours,
                retreats=[
                    _retreat_cell(r, cells.get((uid, r.id)), day) for r in catalogue.retreats
                ],
                last_activity=local_date_or_none(last, session),
            )
        )
    return RosterPage(
        rows=rows,
        matched=matched,
        more=more,
        pages=pages,
        query=replace(query, page=page),
        retreat_choices=[(r.code, r.title) for r in catalogue.retreats],
        item_choices=[(i.code, i.title) for i in catalogue.items],
        retreat_columns=[(r.code, r.short_title or r.title) for r in catalogue.retreats],
        modules_total=len(catalogue.modules),
        presets=_presets(catalogue),
    )


def _retreat_cell(retreat: Any, values: RowValues | None, day: date) -> RetreatCell:
    """A roster cell: the retreat's state as the dashboard shows it, with why when locked."""
    status = item_status(retreat, values, day)
    if status.state == ItemState.COMPLETED:
        return RetreatCell(retreat.code, "Completed", "ok")
    if status.place is None:  # no row yet, or no feature words retreats
        return RetreatCell(retreat.code, "Locked", "warn", in_locale(status.explanation))
    return RetreatCell(
        retreat.code, status.place.label, status.place.badge, in_locale(status.explanation)
    )

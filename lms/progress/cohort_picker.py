"""The cohort picker: who may be marked complete for one module, each with where they stand
with it, chosen by search or as a group another feature keeps (everyone enrolled in an
offering).

Progress imports no feature above it: a feature that groups people (lms.offerings) registers
a `CohortSource` here (from its `subscribe()`, lms.features.SUBSCRIBERS), saying which groups
it has for a module and who is in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User, UserRole
from lms.clock import today
from lms.errors import NotFound
from lms.progress.facts import shared_programme
from lms.progress.models import ItemState, Standing
from lms.progress.roster import clinicians_query
from lms.progress.standings import RowValues
from lms.progress.statuses import item_status

PICKER_CAP = 200  # clinicians listed by a search at most; the count says how many matched


@dataclass(frozen=True)
class CohortGroup:
    """People another feature groups, offered as one choice ("everyone enrolled in ...")."""

    key: str  # "<source>-<id>", e.g. "offering-12"
    label: str  # "4–5 Dec 2026 · Live online · 6 enrolled"
    completed_on: date | None = None  # the date their completions would carry (its last day)


@dataclass(frozen=True)
class CohortSource:
    """One feature's groups of people for a module."""

    name: str  # the keys' prefix ("offering")
    # The module's groups, newest first (the item is a catalogue item of the programme).
    groups: Callable[[Session, Any], list[CohortGroup]]
    # (The group, its members' ids) for this id and module; None when it has no such group.
    members: Callable[[Session, int, Any], tuple[CohortGroup, list[int]] | None]


COHORT_SOURCES: dict[str, CohortSource] = {}


def register_cohorts(source: CohortSource) -> None:
    """Declare a feature's groups (again under the same name replaces it)."""
    COHORT_SOURCES[source.name] = source


@dataclass(frozen=True)
class Pick:
    """One clinician on the cohort page, with where they stand with the module."""

    user_id: int
    name: str
    email: str
    licence_number: str
    state: str  # "Completed on 5 Dec 2026", "Enrolled", "Open", "Locked"
    badge: str
    done: bool  # completed or credited: a mark would be skipped

    @property
    def search_text(self) -> str:
        """What the page's quick filter matches."""
        return f"{self.name} {self.email} {self.licence_number}".lower()


@dataclass(frozen=True)
class Picker:
    """The cohort page's list: the module, the people shown and how many matched."""

    item_code: str
    item_title: str
    people: list[Pick]
    matched: int  # everyone who matched (more than shown when a search passes PICKER_CAP)
    groups: list[CohortGroup]  # the module's groups to choose from
    group: CohortGroup | None = None  # the chosen one: its members are listed, all of them

    @property
    def more(self) -> int:
        """How many matched but are not listed."""
        return self.matched - len(self.people)


def markable_items(session: Session) -> list[tuple[str, str]]:
    """(code, title) of active modules, the items an instructor marks, in programme order."""
    return [(i.code, i.title) for i in shared_programme(session).modules]


def _module(session: Session, item_code: str) -> Any:
    """The programme's module with this code (NotFound if it is no module one marks)."""
    for item in shared_programme(session).modules:
        if item.code == item_code:
            return item
    raise NotFound("Choose a module from the list.")


def _group(session: Session, key: str, item: Any) -> tuple[CohortGroup, list[int]]:
    """The group with this key and its members (NotFound unless it is one of the module's)."""
    name, _, number = key.partition("-")
    source = COHORT_SOURCES.get(name)
    found = None
    if source is not None and number.isdigit() and len(number) <= 12:
        found = source.members(session, int(number), item)
    if found is None:
        raise NotFound("That offering is not one of this module's; choose one from the list.")
    return found


_PERSON = (User.id, User.name, User.email, User.licence_number)


def cohort_picker(
    session: Session, item_code: str, *, search: str = "", group_key: str = ""
) -> Picker:
    """The module's clinicians for the cohort page (a group's members, or those matching the
    search, at most PICKER_CAP), each with their state for it, in four queries."""
    item = _module(session, item_code)
    groups = [g for source in COHORT_SOURCES.values() for g in source.groups(session, item)]
    group = None
    if group_key:
        group, member_ids = _group(session, group_key, item)
        if all(g.key != group.key for g in groups):  # an older one, opened from its page
            groups.insert(0, group)
        rows = session.execute(
            clinicians_query("")
            .where(User.id.in_(member_ids))
            .with_only_columns(*_PERSON)
            .order_by(func.lower(User.name), User.id)
        ).all()
        matched = len(rows)
    else:
        query = clinicians_query(search).where(User.active.is_(True))
        rows = session.execute(query.with_only_columns(*_PERSON).limit(PICKER_CAP)).all()
        matched = len(rows)
        if matched == PICKER_CAP:
            matched = session.scalar(
                select(func.count()).select_from(query.with_only_columns(User.id).subquery())
            )
    said = standing_words(session, item, [row[0] for row in rows])
    people = [
        Pick(uid, name, email, licence or "", *said[uid]) for uid, name, email, licence in rows
    ]
    return Picker(item.code, item.title, people, matched or 0, groups, group)


def standing_words(
    session: Session, item: Any, user_ids: list[int]
) -> dict[int, tuple[str, str, bool]]:
    """Where each person stands with the item, as their dashboard words it: (words, badge,
    whether they already have it: completed or credited), in one query."""
    catalogue = shared_programme(session)
    standings = {
        row.user_id: RowValues.of(row)
        for row in session.execute(
            select(*Standing.__table__.c).where(
                Standing.item_id == item.id, Standing.user_id.in_(user_ids)
            )
        )
    }
    day = today(session)
    said = {}
    for uid in user_ids:
        status = item_status(item, standings.get(uid), day, catalogue=catalogue)
        done = status.state in (ItemState.COMPLETED, ItemState.CREDITED)
        if status.state == ItemState.COMPLETED and status.completed_on is not None:
            said[uid] = (f"Completed on {dates.day(status.completed_on)}", "ok", done)
        elif status.place is not None and not done:
            said[uid] = (status.place.label, status.place.badge, done)
        else:
            said[uid] = (status.state.label, status.state.badge, done)
    return said


def find_clinicians_by_email(
    session: Session, emails: Iterable[str]
) -> tuple[list[int], list[str]]:
    """Ids of the clinicians with these e-mails (one query) and the e-mails that matched none."""
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))
    if not wanted:
        return [], []
    found = dict(
        session.execute(
            select(User.email, User.id).where(
                User.email.in_(wanted),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.CLINICIAN)),
            )
        ).all()
    )
    return [found[e] for e in wanted if e in found], [e for e in wanted if e not in found]

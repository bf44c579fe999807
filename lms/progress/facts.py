"""Facts: what the rules know about people, loaded in bulk, and the catalogue they judge by.

`make_facts` is the only place facts are made; `load_programme` reads the active catalogue
with its lookups computed once; `today` is the programme's date.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.auth.api import Role, User, UserRole
from lms.catalog.api import (
    CatalogItem,
    CatalogueVersion,
    Evaluation,
    Facts,
    ItemName,
    ItemValues,
    ProgrammeSetting,
    evaluate,
)
from lms.catalog.services import Catalogue
from lms.clock import SETTING as ZONE_SETTING
from lms.clock import note_request_setting, note_zone, today
from lms.db import read
from lms.i18n import SETTING as LOCALE_SETTING
from lms.progress.fact_sources import Histories, History, sources
from lms.progress.models import Completion, awarded_hours, total_hours

# --------------------------------------------------------------------------------------------
# The catalogue, read once per unit of work that needs it


ItemIndex = dict[int, tuple[str, Decimal | None]]


def _item_index(session: Session) -> ItemIndex:
    """Code and CE hours of every item, active or not, by id: one small query.

    Rows elsewhere carry only item ids (integers are the cheapest thing to load for
    thousands of people); completions of since-deactivated items still count.
    """
    rows = session.execute(_ITEM_INDEX)
    return {item_id: (code, hours) for item_id, code, hours in rows}


# Statements the busiest pages run, built once: building a select and its cache key costs
# more than SQLite takes to answer these small queries.
_ITEM_INDEX = select(CatalogItem.id, CatalogItem.code, CatalogItem.ce_hours)
# populate_existing: read again means from the database, even over items this session holds.
_ALL_ITEMS = (
    select(CatalogItem)
    .order_by(CatalogItem.position, CatalogItem.code)
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True)
class Programme:
    """The active catalogue with its lookups computed once (rules run thousands of times)."""

    items: tuple[CatalogItem, ...]
    by_code: dict[str, CatalogItem]
    names: dict[str, ItemName]
    modules: tuple[CatalogItem, ...]
    retreats: tuple[CatalogItem, ...]
    index: ItemIndex
    # Verdicts already worked out against this catalogue: (rule field, code, facts) -> verdict.
    # `evaluate` is pure, so a verdict depends on nothing else.
    verdicts: dict[tuple[str, str, Facts], Evaluation] = field(
        default_factory=dict, compare=False, repr=False
    )
    # Anything else worked out from this catalogue alone (the pathway picture's layout):
    # valid exactly as long as the catalogue is, like the verdicts.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def verdict(self, item: Any, facts: Facts, rule: str = "prerequisite") -> Evaluation:
        """The item's prerequisite (or `recommended`) rule judged on the facts, remembered."""
        key = (rule, item.code, facts)
        known = self.verdicts.get(key)
        if known is None:
            if len(self.verdicts) >= VERDICT_MEMO_SIZE:
                self.verdicts.clear()
            known = self.verdicts[key] = evaluate(getattr(item, rule), facts, self.names)
        return known


VERDICT_MEMO_SIZE = 20_000


def _programme_of(everything: Sequence[Any]) -> Programme:
    """A Programme from every item (active or not) in programme order."""
    catalogue = Catalogue(items=tuple(item for item in everything if item.active))
    return Programme(
        items=catalogue.items,
        by_code=catalogue.by_code,
        names=catalogue.names,
        modules=catalogue.modules,
        retreats=catalogue.retreats,
        index={item.id: (item.code, item.ce_hours) for item in everything},
    )


def load_programme(session: Session) -> Programme:
    """The active catalogue in programme order plus the index of all items: one query.

    Reads every item (the inactive ones are few) so that the index of codes and CE hours,
    which old completions need, comes from the same rows as the active programme; the
    active part is exactly what `load_catalogue` returns.
    """
    return _programme_of(session.scalars(_ALL_ITEMS).all())


@dataclass(frozen=True)
class ItemRow(ItemValues):
    """A catalogue item's values with its id, detached from any database session (safe to
    share between requests)."""

    id: int
    certificate_valid_months: int | None

    @classmethod
    def of(cls, item: CatalogItem) -> ItemRow:
        """The values of a loaded item."""
        return cls(**{name: getattr(item, name) for name in _ITEM_ROW_FIELDS})


_ITEM_ROW_FIELDS = tuple(ItemRow.__dataclass_fields__)
# The catalogue's version, which the database bumps on any change to catalog_items (triggers,
# migration 0011), and the programme's time zone beside it, so that a page needing the
# catalogue and today's date pays one small round trip for both (see lms.clock.note_zone).
CATALOGUE_VERSION = (
    select(CatalogueVersion.version).where(CatalogueVersion.id == 1).scalar_subquery()
)
ZONE_SETTING_VALUE = (
    select(ProgrammeSetting.value).where(ProgrammeSetting.key == ZONE_SETTING).scalar_subquery()
)
# The locale rides along too (lms.i18n): the page's words and dates then cost no query.
LOCALE_SETTING_VALUE = (
    select(ProgrammeSetting.value).where(ProgrammeSetting.key == LOCALE_SETTING).scalar_subquery()
)
_CATALOGUE_STAMP = select(CATALOGUE_VERSION, ZONE_SETTING_VALUE, LOCALE_SETTING_VALUE)


@dataclass(frozen=True)
class KeptCatalogue:
    """The catalogue a process keeps for a database, and what it was read under."""

    version: int
    zone: Any  # the time-zone setting read with it
    programme: Programme


_SHARED: weakref.WeakKeyDictionary[Any, KeptCatalogue] = weakref.WeakKeyDictionary()


def _engine_of(session: Session) -> Any:
    """The engine a session reads from: what the kept catalogue is kept per."""
    bind = session.get_bind()
    return getattr(bind, "engine", bind)


def shared_programme(session: Session) -> Programme:
    """The catalogue as plain rows, kept per database between requests while it is unchanged.

    Each call reads the catalogue's version and the time zone (one small query); only when
    the version differs from the kept one are the items read again (one more query). The
    kept rows are plain values, never ORM objects, so they outlive the session that read
    them; the verdicts memo of the kept Programme is valid exactly as long as the catalogue
    it was judged against.
    """
    version, zone, locale = read(session, _CATALOGUE_STAMP).one()
    note_zone(zone, replace=True)
    note_request_setting(LOCALE_SETTING, locale)
    return programme_at(session, version, zone)


def kept_catalogue(session: Session) -> KeptCatalogue | None:
    """The catalogue this process keeps for the session's database, with the version and the
    time-zone setting it was read under (None before the first read): a page that reads the
    version riding along another read takes that zone as today's until the read says not."""
    return _SHARED.get(_engine_of(session))


def programme_at(session: Session, version: int | None, zone: Any) -> Programme:
    """The catalogue at this version: the kept one when it is, else read again and kept.

    `version` is what a read in this transaction said (None: the catalogue is still to be
    versioned, so the items are read). Kept under the version read before the items: if a
    change committed in between, these items are newer than it, so the next call sees
    another version and reads again.
    """
    engine = _engine_of(session)
    kept = _SHARED.get(engine)
    if kept is not None and version is not None and kept.version == version:
        return kept.programme
    everything = session.scalars(_ALL_ITEMS).all()
    programme = _programme_of([ItemRow.of(item) for item in everything])
    if version is not None:
        _SHARED[engine] = KeptCatalogue(version, zone, programme)
    return programme


# --------------------------------------------------------------------------------------------
# Facts, loaded in bulk


_PERSON = (
    User.id,
    User.name,
    User.pre_licensed,
    User.licence_number,
    User.licence_verified_at,
    User.licence_expires_on,
)


# Built once with an expanding `ids` parameter: every write refreshes its people's standings
# through these, and building a statement costs more than SQLite takes to answer it.
_IDS = bindparam("ids", expanding=True)
_CLINICIANS = (
    select(*_PERSON)
    .where(
        User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.CLINICIAN)),
        User.anonymised_at.is_(None),
    )
    .order_by(User.id)
)
# A probe of user_roles' primary key per person: `id IN (SELECT user_id ... clinician)` made
# SQLite list every clinician first (0.7 ms at 5,000, inside every write's lock).
_CLINICIANS_AMONG = (
    select(*_PERSON)
    .where(
        User.id.in_(_IDS),
        select(UserRole.user_id)
        .where(UserRole.user_id == User.id, UserRole.role == Role.CLINICIAN)
        .exists(),
        User.anonymised_at.is_(None),
    )
    .order_by(User.id)
)
# Each reads every row of the person's history with its timestamp: the live and pending
# ones are their facts, and all of them together their last activity (no fourth query).
_COMPLETIONS = select(
    Completion.user_id,
    Completion.item_id,
    Completion.id,
    Completion.completed_on,
    Completion.ce_hours,
    Completion.revoked_at,
    Completion.recorded_at,
).where(Completion.user_id.in_(_IDS))


def clinicians_among(session: Session, ids: Sequence[int] | None) -> list[Any]:
    """Clinicians (not anonymised) among the ids, or all of them: one query."""
    if ids is None:
        return list(read(session, _CLINICIANS))
    return list(read(session, _CLINICIANS_AMONG, {"ids": list(ids)}))


def histories_of(
    session: Session, ids: Sequence[int], *, last_activity: bool = True
) -> dict[int, History]:
    """The history of each person, with their last activity: one query for completions and
    one per fact source (lms.progress.fact_sources), however many people."""
    histories = Histories()
    wanted = {"ids": list(ids)}
    for user_id, item_id, cid, on, hours, revoked_at, at in read(session, _COMPLETIONS, wanted):
        if revoked_at is None:
            histories.of(user_id).completions[item_id] = (cid, on, hours)
        histories.saw(user_id, at)
    for source in sources():
        source.load(session, ids, histories)
    found = histories.found
    if last_activity:
        for user_id, at in histories.latest.items():
            found[user_id].last_activity_at = at
    return found


def facts_of(person: Any, history: History, programme: Programme, on: date) -> Facts:
    """The rule facts of one person from their history."""
    return make_facts(
        person,
        completed=(
            (programme.index[i][0], awarded_hours(own[2], programme.index[i][1]))
            for i, own in history.completions.items()
            if i in programme.index
        ),
        approved=(programme.index[i][0] for i in history.approved if i in programme.index),
        screening_cleared=history.screening_cleared,
        on=on,
    )


def make_facts(
    person: Any,
    *,
    completed: Iterable[tuple[str, Decimal | None]],
    approved: Iterable[str],
    screening_cleared: bool,
    on: date,
) -> Facts:
    """The only place facts are made: live completions as (code, CE hours awarded), approved
    codes.

    `person` is a User or a row with the same licence columns: User.licensed_on reads only
    those, so the licence rule is the same everywhere.
    """
    completed = list(completed)
    return Facts(
        completed=frozenset(code for code, _ in completed),
        equivalent=frozenset(approved),
        licensed=User.licensed_on(person, on),
        screening_cleared=screening_cleared,
        ce_hours=total_hours(hours for _, hours in completed),
    )


def facts_for(
    session: Session, user_ids: Iterable[int | User], *, on: date | None = None
) -> dict[int, Facts]:
    """Facts of each existing person in user_ids, in a constant number of queries.

    Accounts may be passed instead of ids: those are used as they are, not read again.
    """
    given: dict[int, User] = {}
    wanted: set[int] = set()
    for person in user_ids:
        if isinstance(person, User):
            given[person.id] = person
        else:
            wanted.add(person)
    ids = sorted(wanted | set(given))
    if not ids:
        return {}
    day = on or today(session)
    programme = shared_programme(session)
    missing = sorted(wanted - set(given))
    users = [*given.values()]
    if missing:
        users.extend(session.scalars(select(User).where(User.id.in_(missing))))
    histories = histories_of(session, ids, last_activity=False)
    return {u.id: facts_of(u, histories.get(u.id) or History(), programme, day) for u in users}

"""Facts: what the rules know about people, loaded in bulk, and the catalogue they judge by.

`make_facts` is the only place facts are made; `load_programme` reads the active catalogue
with its lookups computed once; `today` is the programme's date.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy import bindparam, func, select, union_all
from sqlalchemy.orm import Session

from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem, ItemKind, Offering, ProgrammeSetting
from lms.catalog.rules import Evaluation, Facts, ItemName, evaluate
from lms.catalog.services import Catalogue
from lms.clock import SETTING as ZONE_SETTING
from lms.clock import note_zone, today
from lms.db import read
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.progress.models import Completion, awarded_hours

# A medical reviewer cleared the applicant (low-risk applications are accepted directly);
# what happened after clearance (waitlist, attendance) does not undo it.
SCREENING_CLEARED_STATUSES = frozenset(
    {
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.ATTENDED,
        EnrolmentStatus.ABSENT,
    }
)


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
_ALL_ITEMS = select(CatalogItem).order_by(CatalogItem.position, CatalogItem.code)


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
class ItemRow:
    """A catalogue item's values, detached from any database session (safe to share)."""

    id: int
    code: str
    kind: ItemKind
    title: str
    short_title: str
    description: str
    format: str
    ce_hours: Decimal | None
    position: int
    prerequisite: dict[str, Any] | None
    recommended: dict[str, Any] | None
    recommended_note: str
    equivalent_label: str
    certificate_design: str
    certificate_valid_months: int | None
    active: bool

    @property
    def is_retreat(self) -> bool:
        """Retreats have sessions and no CE hours."""
        return self.kind == ItemKind.RETREAT

    @classmethod
    def of(cls, item: CatalogItem) -> ItemRow:
        """The values of a loaded item."""
        return cls(**{name: getattr(item, name) for name in _ITEM_ROW_FIELDS})


_ITEM_ROW_FIELDS = tuple(ItemRow.__dataclass_fields__)
# Every item's id and last change: catalog_items.updated_at is refreshed by SQLAlchemy on
# every UPDATE (onupdate=utcnow), an insert adds an id and a delete removes one, so this list
# changes whenever anything in the catalogue does.
# The programme's time zone rides along (a scalar subquery on every row), so a page that needs
# the catalogue and today's date pays one round trip for both (see lms.clock.note_zone).
_CATALOGUE_STAMP = select(
    CatalogItem.id,
    CatalogItem.updated_at,
    select(ProgrammeSetting.value).where(ProgrammeSetting.key == ZONE_SETTING).scalar_subquery(),
).order_by(CatalogItem.id)
_SHARED: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Programme]] = (
    weakref.WeakKeyDictionary()
)


def shared_programme(session: Session) -> Programme:
    """The catalogue as plain rows, kept per database between requests while it is unchanged.

    Each call checks the catalogue's stamp (one small query); only when it differs from the
    kept one are the items read again (one more query). The kept rows are plain values, never
    ORM objects, so they outlive the session that read them; the verdicts memo of the kept
    Programme is valid exactly as long as the catalogue it was judged against.
    """
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    rows = read(session, _CATALOGUE_STAMP).all()
    if rows:
        note_zone(rows[0][2])
    stamp = tuple((item_id, changed) for item_id, changed, _ in rows)
    kept = _SHARED.get(engine)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    everything = session.scalars(_ALL_ITEMS).all()
    # The stamp of the rows actually read: if a change committed in between, the next call
    # sees a stamp different from this one and reads again.
    read_stamp = tuple(sorted((item.id, item.updated_at) for item in everything))
    programme = _programme_of([ItemRow.of(item) for item in everything])
    _SHARED[engine] = (read_stamp, programme)
    return programme


# --------------------------------------------------------------------------------------------
# Facts, loaded in bulk


@dataclass
class History:
    """One person's facts as rows: live completions, equivalencies, applications."""

    # item -> (id, on, the completion's own CE hours: None means the item's)
    completions: dict[int, tuple[int, date, Decimal | None]] = field(default_factory=dict)
    approved: set[int] = field(default_factory=set)
    pending: dict[int, str] = field(default_factory=dict)  # item -> outside programme
    applications: dict[int, list[EnrolmentStatus]] = field(
        default_factory=lambda: defaultdict(list)
    )
    last_activity_at: datetime | None = None


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
_CLINICIANS_AMONG = _CLINICIANS.where(User.id.in_(_IDS))
_LIVE_COMPLETIONS = select(
    Completion.user_id,
    Completion.item_id,
    Completion.id,
    Completion.completed_on,
    Completion.ce_hours,
).where(Completion.user_id.in_(_IDS), Completion.revoked_at.is_(None))
_CREDIT_REQUESTS = (
    select(
        EquivalencyRequest.user_id,
        EquivalencyRequest.item_id,
        EquivalencyRequest.status,
        EquivalencyRequest.outside_programme,
    )
    .where(
        EquivalencyRequest.user_id.in_(_IDS),
        EquivalencyRequest.status.in_([EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]),
    )
    .order_by(EquivalencyRequest.created_at, EquivalencyRequest.id)
)
_APPLICATIONS = (
    select(Enrolment.user_id, Offering.item_id, Enrolment.status)
    .join(Offering, Enrolment.offering_id == Offering.id)
    .where(Enrolment.user_id.in_(_IDS), Enrolment.status != EnrolmentStatus.WITHDRAWN)
    .order_by(Enrolment.applied_at, Enrolment.id)
)
_MOMENTS = union_all(
    select(Completion.user_id.label("user_id"), Completion.recorded_at.label("at")).where(
        Completion.user_id.in_(_IDS)
    ),
    select(Enrolment.user_id, Enrolment.applied_at).where(Enrolment.user_id.in_(_IDS)),
    select(EquivalencyRequest.user_id, EquivalencyRequest.created_at).where(
        EquivalencyRequest.user_id.in_(_IDS)
    ),
).subquery()
_LAST_ACTIVITY = select(_MOMENTS.c.user_id, func.max(_MOMENTS.c.at)).group_by(_MOMENTS.c.user_id)


def clinicians_among(session: Session, ids: Sequence[int] | None) -> list[Any]:
    """Clinicians (not anonymised) among the ids, or all of them: one query."""
    if ids is None:
        return list(read(session, _CLINICIANS))
    return list(read(session, _CLINICIANS_AMONG, {"ids": list(ids)}))


def histories_of(
    session: Session, ids: Sequence[int], *, last_activity: bool = True
) -> dict[int, History]:
    """The history of each person: four queries however many people."""
    found: dict[int, History] = defaultdict(History)
    wanted = {"ids": list(ids)}
    for user_id, item_id, completion_id, on, hours in read(session, _LIVE_COMPLETIONS, wanted):
        found[user_id].completions[item_id] = (completion_id, on, hours)
    for user_id, item_id, status, outside in read(session, _CREDIT_REQUESTS, wanted):
        if status == EquivalencyStatus.APPROVED:
            found[user_id].approved.add(item_id)
        else:
            found[user_id].pending.setdefault(item_id, outside)
    for user_id, item_id, status in read(session, _APPLICATIONS, wanted):
        found[user_id].applications[item_id].append(EnrolmentStatus(status))
    if not last_activity:
        return found
    for user_id, at in read(session, _LAST_ACTIVITY, wanted):
        if at is not None:
            found[user_id].last_activity_at = _as_utc(at)
    return found


def _as_utc(moment: datetime | str) -> datetime:
    """A timestamp from an aggregate, which SQLite may hand back as text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def facts_of(person: Any, history: History, programme: Programme, on: date) -> Facts:
    """The rule facts of one person from their history."""
    statuses = chain.from_iterable(history.applications.values())
    return make_facts(
        person,
        completed=(
            (programme.index[i][0], awarded_hours(own[2], programme.index[i][1]))
            for i, own in history.completions.items()
            if i in programme.index
        ),
        approved=(programme.index[i][0] for i in history.approved if i in programme.index),
        application_statuses=statuses,
        on=on,
    )


def make_facts(
    person: Any,
    *,
    completed: Iterable[tuple[str, Decimal | None]],
    approved: Iterable[str],
    application_statuses: Iterable[EnrolmentStatus],
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
        screening_cleared=any(s in SCREENING_CLEARED_STATUSES for s in application_statuses),
        ce_hours=sum((hours or Decimal(0) for _, hours in completed), Decimal(0)),
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

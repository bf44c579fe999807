"""Completion rules: recording and revoking completions, what they unlock, and progress views.

Every guard, page and list evaluates prerequisites the same way: facts loaded in bulk
(`facts_for` or the loaders below, a constant number of queries for any number of people)
fed to the pure `lms.catalog.rules.evaluate`. The builders at the bottom return plain
dataclasses for templates, so no template ever touches the database.
"""

from __future__ import annotations

import functools
import inspect
import math
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, true, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, lazyload

from lms.audit.models import AuditEvent
from lms.audit.services import record_event
from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem, ItemKind, RetreatSession
from lms.catalog.rules import Evaluation, Facts, ItemName, evaluate
from lms.catalog.services import Catalogue, get_item
from lms.db import utcnow
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from lms.progress.models import Completion, CompletionSource
from lms.retreats.models import Application, ApplicationStatus
from lms.signals import completion_recorded, completion_revoked, item_unlocked

EARLIEST_COMPLETION = date(1990, 1, 1)
NOTE_MAX = 2000
REASON_MAX = 500
ROSTER_PAGE_SIZE = 50

# A medical reviewer cleared the applicant (low-risk applications are accepted directly);
# what happened after clearance (waitlist, attendance) does not undo it.
SCREENING_CLEARED_STATUSES = frozenset(
    {
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.WAITLISTED,
        ApplicationStatus.ATTENDED,
        ApplicationStatus.ABSENT,
    }
)

SOURCE_LABELS = {
    CompletionSource.INSTRUCTOR: "Marked by an instructor",
    CompletionSource.IMPORT: "Imported history",
    CompletionSource.ATTENDANCE: "Retreat attendance",
}

COHORT_ACTION = "completion.cohort_marked"
_WATCHING = "lms.progress.watching"  # session.info key: user ids with an unlock watch open


# --------------------------------------------------------------------------------------------
# Dates


def today() -> date:
    """Today's date in UTC, the default date of a completion."""
    return utcnow().date()


def latest_allowed_date() -> date:
    """The last date a completion may carry.

    An instructor in the furthest time zone ahead of UTC (UTC+14) may rightly record a
    training that happened on their today, which is UTC's tomorrow.
    """
    return (utcnow() + timedelta(hours=14)).date()


def check_completion_date(completed_on: date) -> date:
    """Refuse dates in the future or before 1990; return the date itself."""
    if isinstance(completed_on, datetime):
        completed_on = completed_on.date()
    if not isinstance(completed_on, date):
        raise InvalidInput("Give the completion date as a date (YYYY-MM-DD).")
    if completed_on > latest_allowed_date():
        raise InvalidInput(
            f"The completion date {completed_on.isoformat()} is in the future; record the date "
            "the training really happened."
        )
    if completed_on < EARLIEST_COMPLETION:
        raise InvalidInput(
            f"The completion date {completed_on.isoformat()} is before "
            f"{EARLIEST_COMPLETION.year}; check the year."
        )
    return completed_on


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


def _programme(session: Session) -> Programme:
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
_CATALOGUE_STAMP = select(CatalogItem.id, CatalogItem.updated_at).order_by(CatalogItem.id)
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
    stamp = tuple((item_id, changed) for item_id, changed in session.execute(_CATALOGUE_STAMP))
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
class _Activity:
    """What the rules and the lists need about one person, as item ids."""

    completed: list[int] = field(default_factory=list)  # live completions
    approved: list[int] = field(default_factory=list)  # approved equivalency requests
    pending: list[int] = field(default_factory=list)  # equivalency requests awaiting a decision
    applications: list[tuple[int, ApplicationStatus]] = field(default_factory=list)  # live ones


IdFilter = Sequence[int] | Select[Any]


def _load_activity(
    session: Session, ids: IdFilter | None, *, with_completions: bool = True
) -> dict[int, _Activity]:
    """Live completions, open/approved equivalencies and live applications: three queries.

    `ids` None means everyone: plain scans, cheaper than any join when the roster shows all.
    """
    activity: dict[int, _Activity] = defaultdict(_Activity)

    def of(column: Any) -> Any:
        return column.in_(ids) if ids is not None else true()

    if with_completions:
        completions = session.execute(
            select(Completion.user_id, Completion.item_id).where(
                of(Completion.user_id), Completion.revoked_at.is_(None)
            )
        )
        for user_id, item_id in completions:
            activity[user_id].completed.append(item_id)
    equivalencies = session.execute(
        select(
            EquivalencyRequest.user_id, EquivalencyRequest.item_id, EquivalencyRequest.status
        ).where(
            of(EquivalencyRequest.user_id),
            EquivalencyRequest.status.in_([EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]),
        )
    )
    for user_id, item_id, status in equivalencies:
        mine = activity[user_id]
        (mine.approved if status == EquivalencyStatus.APPROVED else mine.pending).append(item_id)
    applications = session.execute(
        select(Application.user_id, RetreatSession.item_id, Application.status)
        .join(RetreatSession, Application.session_id == RetreatSession.id)
        .where(of(Application.user_id), Application.status != ApplicationStatus.WITHDRAWN)
        .order_by(Application.applied_at, Application.id)
    )
    for user_id, item_id, status in applications:
        activity[user_id].applications.append((item_id, status))
    return activity


def _make_facts(
    person: Any,
    *,
    completed: Iterable[tuple[str, Decimal | None]],
    approved: Iterable[str],
    application_statuses: Iterable[ApplicationStatus],
    on: date,
) -> Facts:
    """The only place facts are made: live completions as (code, CE hours), approved codes.

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


def _facts(person: Any, activity: _Activity, index: ItemIndex, on: date) -> Facts:
    """Facts from bulk-loaded rows (item ids resolved through the index)."""
    return _make_facts(
        person,
        completed=(index[i] for i in activity.completed),
        approved=(index[i][0] for i in activity.approved),
        application_statuses=(status for _, status in activity.applications),
        on=on,
    )


def _load_users(session: Session, ids: IdFilter) -> list[User]:
    """The accounts for the ids (their roles are not needed, so not loaded)."""
    return list(
        session.scalars(select(User).where(User.id.in_(ids)).options(lazyload(User.role_rows)))
    )


def facts_for(
    session: Session, user_ids: Iterable[int | User], *, on: date | None = None
) -> dict[int, Facts]:
    """Facts of each existing person in user_ids, in five queries however many there are.

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
    day = on or today()
    index = _item_index(session)
    missing = sorted(wanted - set(given))
    users = [*given.values(), *(_load_users(session, missing) if missing else [])]
    activity = _load_activity(session, ids)
    return {user.id: _facts(user, activity[user.id], index, day) for user in users}


def _evaluate_item(item: CatalogItem, facts: Facts, catalogue: Programme) -> Evaluation:
    """The prerequisite verdict for one item."""
    return evaluate(item.prerequisite, facts, catalogue.names)


def evaluate_item(session: Session, user: User, item_code: str) -> Evaluation:
    """Whether the person meets the item's prerequisite, and what is missing if not."""
    catalogue = _programme(session)
    item = catalogue.by_code.get(item_code) or get_item(session, item_code)
    activity = _load_activity(session, [user.id])[user.id]
    return _evaluate_item(item, _facts(user, activity, catalogue.index, today()), catalogue)


# --------------------------------------------------------------------------------------------
# Unlocks


def _open_codes(
    catalogue: Programme, facts: Facts, items: Iterable[CatalogItem] | None = None
) -> set[str]:
    """Codes of items whose prerequisite is met and which the person has not completed."""
    return {
        item.code
        for item in (catalogue.items if items is None else items)
        if item.code not in facts.completed and _evaluate_item(item, facts, catalogue).met
    }


@contextmanager
def watch_many(session: Session, user_ids: Iterable[int]) -> Iterator[None]:
    """Send item_unlocked for every item that became open to these people during the block.

    Constant queries for any number of people. A watch nested inside another for the same
    person is a no-op, so record_completion inside a cohort or an approval signals once.
    """
    watching: set[int] = session.info.setdefault(_WATCHING, set())
    fresh = sorted(set(user_ids) - watching)
    if not fresh:
        yield
        return
    catalogue = _programme(session)
    gated = [item for item in catalogue.items if item.prerequisite is not None]
    before = {uid: _open_codes(catalogue, f, gated) for uid, f in facts_for(session, fresh).items()}
    watching.update(fresh)
    try:
        yield
    finally:
        watching.difference_update(fresh)
    session.flush()
    users = {user.id: user for user in _load_users(session, fresh)}
    for uid, facts in facts_for(session, fresh).items():
        opened = _open_codes(catalogue, facts, gated) - before.get(uid, set())
        for item in gated:  # programme order, so receivers see Module 2 before Module 3
            if item.code in opened:
                item_unlocked.send(users[uid], session=session, item=item)


@contextmanager
def watch_unlocks(session: Session, user_id: int) -> Iterator[None]:
    """Send item_unlocked(user, session=, item=) for each item opened during the block."""
    with watch_many(session, [user_id]):
        yield


# --------------------------------------------------------------------------------------------
# Recording and revoking


def _live_completion(session: Session, user_id: int, item_id: int) -> Completion | None:
    """The person's live completion of the item, if any."""
    return session.scalar(
        select(Completion).where(
            Completion.user_id == user_id,
            Completion.item_id == item_id,
            Completion.revoked_at.is_(None),
        )
    )


def _already(user: User, item: CatalogItem, completed_on: date) -> str:
    """The message for a completion that exists already."""
    return (
        f"{item.title} is already recorded as completed on {completed_on.isoformat()} "
        f"for {user.name}."
    )


def _clean_note(note: str | None) -> str:
    """Trim a note and refuse an overlong one."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"The note is too long ({len(note)} characters; {NOTE_MAX} at most).")
    return note


def _check_person(user: User) -> None:
    """Refuse people who cannot hold completions."""
    if Role.CLINICIAN not in user.roles:
        raise InvalidInput(f"{user.name} ({user.email}) is not a clinician.")
    if user.anonymised_at is not None:
        raise InvalidInput("That account has been anonymised.")


def _check_item(item: CatalogItem, source: CompletionSource) -> None:
    """Refuse items that cannot be recorded this way."""
    if not item.active:
        raise InvalidInput(f"{item.title} is no longer offered, so it cannot be recorded.")
    if item.kind == ItemKind.RETREAT and source == CompletionSource.INSTRUCTOR:
        raise InvalidInput(
            f"{item.title} is a retreat: its completion comes from marking attendance on the "
            "retreat session (or from an import of past records), not from a module mark."
        )


def check_recordable(
    user: User, item: CatalogItem, completed_on: date, source: CompletionSource
) -> date:
    """Refuse completions that cannot be true; return the checked date."""
    _check_person(user)
    _check_item(item, source)
    return check_completion_date(completed_on)


def insert_checked_completion(
    session: Session,
    *,
    user: User,
    item: CatalogItem,
    completed_on: date,
    source: CompletionSource,
    actor_id: int | None,
    note: str,
    bulk: bool,
) -> Completion:
    """Insert a checked completion; the unique live index has the last word on duplicates."""
    completion = Completion(
        user_id=user.id,
        item_id=item.id,
        completed_on=completed_on,
        source=source,
        recorded_by_id=actor_id,
        note=note,
    )
    try:
        # A savepoint, so that losing a race leaves the rest of the unit of work usable.
        with session.begin_nested():
            session.add(completion)
            session.flush()
    except IntegrityError:
        existing = _live_completion(session, user.id, item.id)
        when = existing.completed_on if existing is not None else completed_on
        raise Conflict(_already(user, item, when)) from None
    record_event(
        session,
        actor_id=actor_id,
        action="completion.recorded",
        subject_type="completion",
        subject_id=completion.id,
        person_id=user.id,
        item=item.code,
        completed_on=completed_on,
        source=source.value,
        bulk=bulk,
    )
    completion_recorded.send(completion, session=session, actor_id=actor_id, bulk=bulk)
    return completion


def record_completion(
    session: Session,
    *,
    user_id: int,
    item_code: str,
    completed_on: date,
    source: CompletionSource | str,
    actor_id: int | None,
    note: str = "",
    bulk: bool = False,
) -> Completion:
    """Record that a clinician completed an item on a real date; Conflict if already live."""
    source = CompletionSource(source)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such clinician.")
    item = get_item(session, item_code)
    completed_on = check_recordable(user, item, completed_on, source)
    note = _clean_note(note)
    existing = _live_completion(session, user.id, item.id)
    if existing is not None:
        raise Conflict(_already(user, item, existing.completed_on))
    with watch_many(session, [user.id]):
        return insert_checked_completion(
            session,
            user=user,
            item=item,
            completed_on=completed_on,
            source=source,
            actor_id=actor_id,
            note=note,
            bulk=bulk,
        )


def revoke_completion(
    session: Session, completion_id: int, *, actor_id: int | None, reason: str
) -> Completion:
    """Revoke a mistaken completion with a reason; it stays in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for revoking the completion.")
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            f"The reason is too long ({len(reason)} characters; {REASON_MAX} at most)."
        )
    completion = session.scalar(
        select(Completion)
        .where(Completion.id == completion_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if completion is None:
        raise NotFound("No such completion.")
    if completion.revoked_at is not None:
        raise AlreadyDecided(
            f"This completion was already revoked on {completion.revoked_at.date().isoformat()}."
        )
    completion.revoked_at = utcnow()
    completion.revoked_by_id = actor_id
    completion.revoke_reason = reason
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="completion.revoked",
        subject_type="completion",
        subject_id=completion.id,
        person_id=completion.user_id,
        item=completion.item.code,
        completed_on=completion.completed_on,
        reason=reason,
    )
    completion_revoked.send(completion, session=session, actor_id=actor_id, reason=reason)
    return completion


@dataclass(frozen=True)
class CohortEntry:
    """One person in a cohort mark: recorded, or skipped with the reason."""

    user_id: int
    name: str
    email: str
    reason: str = ""
    completion_id: int | None = None


@dataclass(frozen=True)
class CohortResult:
    """What a cohort mark did."""

    item_code: str
    item_title: str
    completed_on: date
    created: list[CohortEntry]
    skipped: list[CohortEntry]
    event_id: int | None = None  # the audit event that summarises the mark


def record_cohort(
    session: Session,
    *,
    user_ids: Iterable[int],
    item_code: str,
    completed_on: date,
    actor_id: int | None,
    note: str = "",
) -> CohortResult:
    """Mark one item complete for many clinicians in one transaction; skip who cannot be."""
    ids = list(dict.fromkeys(user_ids))  # keep the order given, drop repeats
    if not ids:
        raise InvalidInput("Choose at least one clinician.")
    item = get_item(session, item_code)
    note = _clean_note(note)
    users = {
        user.id: user
        for user in session.scalars(
            select(User).where(User.id.in_(ids)).options(lazyload(User.role_rows))
        )
    }
    clinicians = set(
        session.scalars(
            select(UserRole.user_id).where(
                UserRole.user_id.in_(ids), UserRole.role == Role.CLINICIAN
            )
        )
    )
    existing: dict[int, date] = dict(
        session.execute(
            select(Completion.user_id, Completion.completed_on).where(
                Completion.user_id.in_(ids),
                Completion.item_id == item.id,
                Completion.revoked_at.is_(None),
            )
        ).all()
    )
    # A wrong item or date refuses the whole cohort: nobody could be recorded.
    _check_item(item, CompletionSource.INSTRUCTOR)
    completed_on = check_completion_date(completed_on)

    created: list[CohortEntry] = []
    skipped: list[CohortEntry] = []
    with watch_many(session, [uid for uid in ids if uid in users and uid not in existing]):
        for uid in ids:
            user = users.get(uid)
            if user is None:
                skipped.append(CohortEntry(uid, f"#{uid}", "", "No such account."))
                continue
            entry = CohortEntry(uid, user.name, user.email)
            if uid not in clinicians or user.anonymised_at is not None:
                skipped.append(_with_reason(entry, "Not a clinician."))
                continue
            if uid in existing:
                skipped.append(
                    _with_reason(entry, f"Already completed on {existing[uid].isoformat()}.")
                )
                continue
            try:
                completion = insert_checked_completion(
                    session,
                    user=user,
                    item=item,
                    completed_on=completed_on,
                    source=CompletionSource.INSTRUCTOR,
                    actor_id=actor_id,
                    note=note,
                    bulk=False,
                )
            except Conflict as error:  # recorded from elsewhere a moment ago
                skipped.append(_with_reason(entry, error.message))
                continue
            created.append(CohortEntry(uid, user.name, user.email, completion_id=completion.id))
    # One summary event, besides one per completion, so the result page can be shown again.
    event = record_event(
        session,
        actor_id=actor_id,
        action=COHORT_ACTION,
        subject_type="catalog_item",
        subject_id=item.id,
        item=item.code,
        completed_on=completed_on,
        created=[[e.user_id, e.completion_id] for e in created],
        skipped=[[e.user_id, e.reason] for e in skipped],
    )
    session.flush()
    return CohortResult(item.code, item.title, completed_on, created, skipped, event.id)


def cohort_result(session: Session, event_id: int) -> CohortResult:
    """A past cohort mark rebuilt from its summary audit event (two queries)."""
    event = session.get(AuditEvent, event_id)
    if event is None or event.action != COHORT_ACTION:
        raise NotFound("No such cohort mark.")
    facts = event.facts
    ids = [uid for uid, _ in facts["created"]] + [uid for uid, _ in facts["skipped"]]
    people = {
        uid: (name, email)
        for uid, name, email in session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(ids))
        )
    }

    def entry(uid: int, **extra: Any) -> CohortEntry:
        name, email = people.get(uid, (f"#{uid}", ""))
        return CohortEntry(uid, name, email, **extra)

    code = facts["item"]
    item_title = session.scalar(select(CatalogItem.title).where(CatalogItem.code == code))
    return CohortResult(
        item_code=code,
        item_title=item_title or code,
        completed_on=date.fromisoformat(facts["completed_on"]),
        created=[entry(uid, completion_id=cid) for uid, cid in facts["created"]],
        skipped=[entry(uid, reason=reason) for uid, reason in facts["skipped"]],
        event_id=event.id,
    )


def _with_reason(entry: CohortEntry, reason: str) -> CohortEntry:
    """The entry with a skip reason."""
    return CohortEntry(entry.user_id, entry.name, entry.email, reason=reason)


# --------------------------------------------------------------------------------------------
# What pages show: plain data, built in a constant number of queries


class ItemState(StrEnum):
    """Where a clinician stands with one catalogue item."""

    COMPLETED = "completed"
    CREDITED = "credited"
    AVAILABLE = "available"
    LOCKED = "locked"

    @property
    def label(self) -> str:
        """Human name of the state."""
        return {
            "completed": "Completed",
            "credited": "Credited (equivalent approved)",
            "available": "Open",
            "locked": "Locked",
        }[self.value]

    @property
    def badge(self) -> str:
        """The CSS badge class of the state."""
        return {"completed": "ok", "credited": "ok", "available": "info", "locked": "warn"}[
            self.value
        ]


@dataclass(frozen=True)
class ItemStatus:
    """One catalogue item as one clinician sees it."""

    code: str
    title: str
    kind: ItemKind
    description: str
    format: str
    ce_hours: Decimal | None
    state: ItemState
    completed_on: date | None = None
    completion_id: int | None = None
    explanation: str = ""
    steps: tuple[str, ...] = ()
    recommendation: str = ""
    pending_equivalency: str = ""  # the outside programme of a request awaiting approval

    @property
    def is_open(self) -> bool:
        """Completed, credited or available: nothing in the way."""
        return self.state != ItemState.LOCKED


@dataclass(frozen=True)
class HistoryEntry:
    """One completion, live or revoked, with who did what and when."""

    completion_id: int
    item_id: int
    code: str
    title: str
    ce_hours: Decimal | None
    completed_on: date
    source: CompletionSource
    recorded_at: datetime
    recorded_by: str
    note: str
    revoked_at: datetime | None
    revoked_by: str
    revoke_reason: str

    @property
    def live(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    @property
    def source_label(self) -> str:
        """How the completion came to be recorded."""
        return SOURCE_LABELS[self.source]


@dataclass(frozen=True)
class PendingRequest:
    """An equivalency request awaiting a decision (it unlocks nothing yet)."""

    code: str
    title: str
    outside_programme: str
    created_at: datetime


@dataclass(frozen=True)
class ClinicianProgress:
    """A clinician's whole progress, for the dashboard and the clinician record."""

    user_id: int
    name: str
    display_name: str
    email: str
    licence: str
    licensed: bool
    pre_licensed: bool
    ce_hours: Decimal
    core_modules: list[ItemStatus]
    specialty_modules: list[ItemStatus]
    retreats: list[ItemStatus]
    history: list[HistoryEntry]
    pending: list[PendingRequest]
    markable: list[tuple[str, str]]  # (code, title) of modules an instructor may mark now

    @property
    def modules(self) -> list[ItemStatus]:
        """Core then specialty modules."""
        return self.core_modules + self.specialty_modules

    @property
    def modules_done(self) -> int:
        """Modules completed or credited."""
        return sum(1 for m in self.modules if m.state in {ItemState.COMPLETED, ItemState.CREDITED})

    @property
    def live_completions(self) -> list[HistoryEntry]:
        """Completions that count."""
        return [h for h in self.history if h.live]


def licence_label(user: Any, on: date) -> str:
    """A one-line description of the person's licence standing."""
    if user.pre_licensed or not user.licence_number:
        return "Pre-licensed"
    what = " ".join(p for p in (user.licence_type, user.licence_number, user.licence_state) if p)
    if user.licence_verified_at is None:
        return f"{what} (not yet verified)"
    if user.licence_expires_on is not None and user.licence_expires_on < on:
        return f"{what} (expired {user.licence_expires_on.isoformat()})"
    return what


# Built once: making an alias of a mapped class, or a select and its cache key, costs more
# than SQLite takes to answer the small per-person queries below.
_RECORDER = aliased(User, name="recorder")
_REVOKER = aliased(User, name="revoker")
_HISTORY = (
    select(
        Completion.id,
        Completion.item_id,
        CatalogItem.code,
        CatalogItem.title,
        CatalogItem.ce_hours,
        Completion.completed_on,
        Completion.source,
        Completion.recorded_at,
        _RECORDER.name,
        Completion.note,
        Completion.revoked_at,
        _REVOKER.name,
        Completion.revoke_reason,
    )
    .join(CatalogItem, Completion.item_id == CatalogItem.id)
    .outerjoin(_RECORDER, Completion.recorded_by_id == _RECORDER.id)
    .outerjoin(_REVOKER, Completion.revoked_by_id == _REVOKER.id)
    .where(Completion.user_id == bindparam("user_id"))
    .order_by(Completion.completed_on.desc(), Completion.recorded_at.desc(), Completion.id.desc())
)
_OWN_REQUESTS = (
    select(
        CatalogItem.code,
        CatalogItem.title,
        EquivalencyRequest.outside_programme,
        EquivalencyRequest.created_at,
        EquivalencyRequest.status,
    )
    .join(CatalogItem, EquivalencyRequest.item_id == CatalogItem.id)
    .where(
        EquivalencyRequest.user_id == bindparam("user_id"),
        EquivalencyRequest.status.in_([EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]),
    )
    .order_by(EquivalencyRequest.created_at)
)
_OWN_APPLICATION_STATUSES = select(Application.status).where(
    Application.user_id == bindparam("user_id"), Application.status != ApplicationStatus.WITHDRAWN
)


def _history(session: Session, user_id: int) -> list[HistoryEntry]:
    """Every completion of the person, newest first, with the names of who acted: one query."""
    rows = session.execute(_HISTORY, {"user_id": user_id})
    return [
        HistoryEntry(
            completion_id=r[0],
            item_id=r[1],
            code=r[2],
            title=r[3],
            ce_hours=r[4],
            completed_on=r[5],
            source=CompletionSource(r[6]),
            recorded_at=r[7],
            recorded_by=r[8] or "",
            note=r[9] or "",
            revoked_at=r[10],
            revoked_by=r[11] or "",
            revoke_reason=r[12] or "",
        )
        for r in rows
    ]


def _item_status(
    item: CatalogItem,
    facts: Facts,
    catalogue: Programme,
    live: dict[str, HistoryEntry],
    pending: dict[str, str],
) -> ItemStatus:
    """One item's state for one person."""
    base: dict[str, Any] = {
        "code": item.code,
        "title": item.title,
        "kind": item.kind,
        "description": item.description,
        "format": item.format,
        "ce_hours": item.ce_hours,
        "pending_equivalency": pending.get(item.code, ""),
    }
    if item.code in live:
        entry = live[item.code]
        return ItemStatus(
            **base,
            state=ItemState.COMPLETED,
            completed_on=entry.completed_on,
            completion_id=entry.completion_id,
        )
    if item.code in facts.equivalent:
        return ItemStatus(**base, state=ItemState.CREDITED)
    recommendation = ""
    if item.recommended is not None:
        advice = catalogue.verdict(item, facts, "recommended")
        if not advice.met:
            recommendation = item.recommended_note or f"Recommended first: {advice.explanation}"
    verdict = catalogue.verdict(item, facts)
    if verdict.met:
        return ItemStatus(**base, state=ItemState.AVAILABLE, recommendation=recommendation)
    return ItemStatus(
        **base,
        state=ItemState.LOCKED,
        explanation=verdict.explanation,
        steps=verdict.steps,
        recommendation=recommendation,
    )


@dataclass(frozen=True)
class ClinicianSnapshot:
    """One clinician's progress with the catalogue and facts it was judged from.

    Loaded once per dashboard view and handed to every dashboard section, so that no
    section reads the catalogue or the person's activity a second time.
    """

    user: User
    on: date  # the day the facts (licence) were judged on
    catalogue: Programme
    facts: Facts
    progress: ClinicianProgress


def clinician_snapshot(session: Session, user: User) -> ClinicianSnapshot:
    """Everything the dashboard shows about one clinician, in four queries."""
    day = today()
    catalogue = shared_programme(session)
    history = _history(session, user.id)
    params = {"user_id": user.id}
    requests = session.execute(_OWN_REQUESTS, params).all()
    statuses_applied = session.scalars(_OWN_APPLICATION_STATUSES, params).all()
    live = {h.code: h for h in history if h.live}
    facts = _make_facts(
        user,
        completed=((h.code, h.ce_hours) for h in live.values()),
        approved=(r.code for r in requests if r.status == EquivalencyStatus.APPROVED),
        application_statuses=statuses_applied,
        on=day,
    )
    pending_requests = [
        PendingRequest(r.code, r.title, r.outside_programme, r.created_at)
        for r in requests
        if r.status == EquivalencyStatus.PENDING
    ]
    pending = {p.code: p.outside_programme for p in pending_requests}
    statuses = [_item_status(item, facts, catalogue, live, pending) for item in catalogue.items]
    progress = ClinicianProgress(
        user_id=user.id,
        name=user.name,
        display_name=user.display_name,
        email=user.email,
        licence=licence_label(user, day),
        licensed=facts.licensed,
        pre_licensed=user.pre_licensed,
        ce_hours=facts.ce_hours,
        core_modules=[s for s in statuses if s.kind == ItemKind.CORE_MODULE],
        specialty_modules=[s for s in statuses if s.kind == ItemKind.SPECIALTY_MODULE],
        retreats=[s for s in statuses if s.kind == ItemKind.RETREAT],
        history=history,
        pending=pending_requests,
        markable=[
            (s.code, s.title)
            for s in statuses
            if s.kind != ItemKind.RETREAT and s.state != ItemState.COMPLETED
        ],
    )
    return ClinicianSnapshot(user, day, catalogue, facts, progress)


def clinician_progress(session: Session, user: User) -> ClinicianProgress:
    """Everything the dashboard and the clinician record show about one clinician."""
    return clinician_snapshot(session, user).progress


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

    `eligible` (a retreat code) keeps clinicians to whom the retreat is open and who have not
    completed it; with `applied` = "no" or "yes" it also asks whether they applied to it.
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
    ("", "Any licence standing"),
    ("licensed", "Licensed (verified, current)"),
    ("unlicensed", "No verified, current licence"),
    ("pre-licensed", "Pre-licensed"),
)
ITEM_STATES = (("", "either way"), ("completed", "has completed"), ("not_completed", "has not"))


@dataclass(frozen=True)
class RosterPage:
    """One page of the roster with the choices the filter form offers."""

    rows: list[RosterRow]
    matched: int
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


def _clinicians_query(search: str) -> Select[Any]:
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
    term = search.strip().lower()
    if term:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(func.coalesce(User.licence_number, "")).like(pattern, escape="\\"),
            )
        )
    return query


class _Verdicts:
    """Rule verdicts memoised by item and facts: many clinicians share the same facts."""

    def __init__(self, catalogue: Programme) -> None:
        """Start empty for one catalogue snapshot."""
        self.catalogue = catalogue
        self.seen: dict[tuple[str, Facts], Evaluation] = {}

    def __call__(self, item: CatalogItem, facts: Facts) -> Evaluation:
        """The evaluation of the item's prerequisite for these facts."""
        key = (item.code, facts)
        verdict = self.seen.get(key)
        if verdict is None:
            verdict = self.seen[key] = _evaluate_item(item, facts, self.catalogue)
        return verdict


def _matches(
    query: RosterQuery, person: Any, facts: Facts, activity: _Activity, verdicts: _Verdicts
) -> bool:
    """Whether one clinician passes every filter of the query."""
    if query.licence == "pre-licensed" and not person.pre_licensed:
        return False
    if query.licence == "unlicensed" and facts.licensed:
        return False
    if query.licence == "licensed" and not facts.licensed:
        return False
    if query.missing and (query.missing in facts.completed or query.missing in facts.equivalent):
        return False
    if (
        query.item
        and query.item_state
        and (query.item in facts.completed) != (query.item_state == "completed")
    ):
        return False
    if query.eligible:
        retreat = verdicts.catalogue.by_code[query.eligible]
        if retreat.code in facts.completed:
            return False
        if query.applied:
            applied = any(item_id == retreat.id for item_id, _ in activity.applications)
            if applied != (query.applied == "yes"):
                return False
        # The rule last: it is the costliest test.
        if not verdicts(retreat, facts).met:
            return False
    return True


def _retreat_cell(
    retreat: CatalogItem, facts: Facts, activity: _Activity, verdicts: _Verdicts
) -> RetreatCell:
    """A roster cell: completed, applied (with status), open or locked (with why)."""
    if retreat.code in facts.completed:
        return RetreatCell(retreat.code, "Completed", "ok")
    applied = [status for item_id, status in activity.applications if item_id == retreat.id]
    if applied:
        return RetreatCell(retreat.code, f"Applied: {applied[-1].label}", "info")
    verdict = verdicts(retreat, facts)
    if verdict.met:
        return RetreatCell(retreat.code, "Open", "ok")
    return RetreatCell(retreat.code, "Locked", "warn", verdict.explanation)


def _last_activity(session: Session, people: list[Any]) -> dict[int, date]:
    """The day of each person's latest sign-in, completion, application or request: one query."""
    ids = [p.id for p in people]
    moments = union_all(
        select(Completion.user_id.label("user_id"), Completion.recorded_at.label("at")).where(
            Completion.user_id.in_(ids)
        ),
        select(Application.user_id, Application.applied_at).where(Application.user_id.in_(ids)),
        select(EquivalencyRequest.user_id, EquivalencyRequest.created_at).where(
            EquivalencyRequest.user_id.in_(ids)
        ),
    ).subquery()
    latest: dict[int, datetime] = dict(
        session.execute(
            select(moments.c.user_id, func.max(moments.c.at)).group_by(moments.c.user_id)
        ).all()
    )
    for person in people:
        if person.last_login_at is not None:
            known = latest.get(person.id)
            latest[person.id] = max(known, person.last_login_at) if known else person.last_login_at
    return {user_id: _as_utc(at).date() for user_id, at in latest.items() if at is not None}


def _as_utc(moment: datetime | str) -> datetime:
    """A timestamp from an aggregate, which SQLite may hand back as text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def roster(session: Session, query: RosterQuery) -> RosterPage:
    """One page of clinicians with their progress, filtered, in seven queries for any number."""
    day = today()
    catalogue = _programme(session)
    _check_query(query, catalogue)
    people_query = _clinicians_query(query.search)
    people = session.execute(people_query).all()
    # Everyone's rows in plain scans, or just the ones found when a search narrowed the list.
    activity = _load_activity(session, [p.id for p in people] if query.search.strip() else None)
    verdicts = _Verdicts(catalogue)
    matching = []
    for person in people:
        mine = activity[person.id]
        facts = _facts(person, mine, catalogue.index, day)
        if _matches(query, person, facts, mine, verdicts):
            matching.append((person, facts))
    pages = max(1, math.ceil(len(matching) / ROSTER_PAGE_SIZE))
    page = min(max(query.page, 1), pages)
    shown = matching[(page - 1) * ROSTER_PAGE_SIZE : page * ROSTER_PAGE_SIZE]
    last = _last_activity(session, [person for person, _ in shown])
    module_codes = {m.code for m in catalogue.modules}
    rows = [
        RosterRow(
            user_id=person.id,
            name=f"{person.name}, {person.credentials}" if person.credentials else person.name,
            email=person.email,
            licence=licence_label(person, day),
            licensed=facts.licensed,
            modules_done=len((facts.completed | facts.equivalent) & module_codes),
            ce_hours=facts.ce_hours,
            retreats=[
                _retreat_cell(r, facts, activity[person.id], verdicts) for r in catalogue.retreats
            ],
            last_activity=last.get(person.id),
        )
        for person, facts in shown
    ]
    return RosterPage(
        rows=rows,
        matched=len(matching),
        pages=pages,
        query=replace(query, page=page),
        retreat_choices=[(r.code, r.title) for r in catalogue.retreats],
        item_choices=[(i.code, i.title) for i in catalogue.items],
        retreat_columns=[(r.code, r.short_title or r.title) for r in catalogue.retreats],
        modules_total=len(module_codes),
        presets=_presets(catalogue),
    )


# --------------------------------------------------------------------------------------------
# Staff pages: the cohort picker and the staff home


@dataclass(frozen=True)
class ClinicianChoice:
    """A clinician offered in the cohort picker."""

    user_id: int
    name: str
    email: str
    licence_number: str


def clinician_choices(session: Session, search: str = "") -> list[ClinicianChoice]:
    """Active clinicians for the cohort picker, by name, in one query."""
    query = _clinicians_query(search).where(User.active.is_(True))
    rows = session.execute(
        query.with_only_columns(User.id, User.name, User.email, User.licence_number)
    )
    return [ClinicianChoice(r[0], r[1], r[2], r[3] or "") for r in rows]


def markable_items(session: Session) -> list[tuple[str, str]]:
    """(code, title) of active modules, the items an instructor marks, in programme order."""
    return [(i.code, i.title) for i in _programme(session).modules]


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


@dataclass(frozen=True)
class StaffSummary:
    """Numbers for the staff home page."""

    clinicians: int
    recorded_last_30_days: int
    pending_equivalencies: int


def staff_summary(session: Session) -> StaffSummary:
    """Counts for the staff home page, in three queries."""
    since = utcnow() - timedelta(days=30)
    clinicians = session.scalar(
        select(func.count()).select_from(UserRole).where(UserRole.role == Role.CLINICIAN)
    )
    recent = session.scalar(
        select(func.count()).select_from(Completion).where(Completion.recorded_at >= since)
    )
    pending = session.scalar(
        select(func.count())
        .select_from(EquivalencyRequest)
        .where(EquivalencyRequest.status == EquivalencyStatus.PENDING)
    )
    return StaffSummary(clinicians or 0, recent or 0, pending or 0)


def get_clinician(session: Session, user_id: int) -> User:
    """A clinician's account, or NotFound (also for accounts without the clinician role)."""
    user = session.get(User, user_id)
    if user is None or Role.CLINICIAN not in user.roles or user.anonymised_at is not None:
        raise NotFound("No such clinician.")
    return user


def completion_owner(session: Session, completion_id: int) -> int:
    """The clinician a completion belongs to, or NotFound."""
    owner = session.scalar(select(Completion.user_id).where(Completion.id == completion_id))
    if owner is None:
        raise NotFound("No such completion.")
    return owner


# --------------------------------------------------------------------------------------------
# Dashboard extension point

DashboardSection = Callable[..., "tuple[str | None, dict[str, Any]] | None"]

DASHBOARD_SECTIONS: list[DashboardSection] = []
"""Callables other features append to (idempotently, from their `subscribe()`).

Each is called once per dashboard view as `fn(session, user)` with the signed-in clinician
(or as `fn(session, user, snapshot=...)` when it declares a `snapshot` parameter: the
ClinicianSnapshot the page was built from, so the section reuses its catalogue and facts
instead of reading them again), must run a constant number of queries and never write, and
returns None (nothing to show),
`(template_name, context)` (rendered with `context` plus `progress` as a section below the
retreats) or `(None, context)` (data only). Every returned context is merged into `extras`,
which the per-item hooks `retreats/_dashboard_retreat.html` (inside each retreat card) and
`certificates/_dashboard_item.html` (beside each completed item) can read together with
`item` (an ItemStatus) and `progress` (the ClinicianProgress).
"""


@functools.cache
def _takes_snapshot(contribute: DashboardSection) -> bool:
    """Whether a section accepts the shared snapshot (asked once per section)."""
    return "snapshot" in inspect.signature(contribute).parameters


@dataclass(frozen=True)
class RenderedSection:
    """A dashboard section contributed by another feature."""

    template: str
    context: dict[str, Any]


def dashboard_sections(
    session: Session, user: User, snapshot: ClinicianSnapshot | None = None
) -> tuple[list[RenderedSection], dict[str, Any]]:
    """Run the registered dashboard sections: those to render and the merged extras."""
    sections: list[RenderedSection] = []
    extras: dict[str, Any] = {}
    for contribute in DASHBOARD_SECTIONS:
        if snapshot is not None and _takes_snapshot(contribute):
            result = contribute(session, user, snapshot=snapshot)
        else:
            result = contribute(session, user)
        if result is None:
            continue
        template, context = result
        extras.update(context)
        if template:
            sections.append(RenderedSection(template, dict(context)))
    return sections, extras

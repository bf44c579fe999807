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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, lazyload

from lms.audit.models import AuditEvent
from lms.audit.services import record_event
from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem, ItemKind
from lms.catalog.rules import Evaluation, evaluate
from lms.catalog.services import get_item
from lms.clock import today
from lms.db import utcnow
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from lms.progress import standings
from lms.progress.facts import (
    Programme,
    facts_for,
    load_programme,
    shared_programme,
)
from lms.progress.models import Completion, CompletionSource, ItemState, ProgressSummary, Standing
from lms.progress.standings import RetreatState, RowValues, met_on, retreat_state
from lms.signals import completion_recorded, completion_revoked

EARLIEST_COMPLETION = date(1990, 1, 1)
NOTE_MAX = 2000
REASON_MAX = 500
ROSTER_PAGE_SIZE = 50
ROSTER_COUNT_CAP = 1000  # matches counted exactly up to this; beyond it, "more than"

SOURCE_LABELS = {
    CompletionSource.INSTRUCTOR: "Marked by an instructor",
    CompletionSource.IMPORT: "Imported history",
    CompletionSource.ATTENDANCE: "Retreat attendance",
}

COHORT_ACTION = "completion.cohort_marked"
_WATCHING = "lms.progress.watching"  # session.info key: user ids with an unlock watch open


# --------------------------------------------------------------------------------------------
# Dates


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


def evaluate_item(session: Session, user: User, item_code: str) -> Evaluation:
    """Whether the person meets the item's prerequisite today, and what is missing if not.

    Read from the person's standing row (kept current in this very transaction); people who
    hold no rows (not clinicians) are judged directly by the same rule function.
    """
    item = get_item(session, item_code)
    row = standings.row_of(session, user.id, item.id)
    if row is None:
        catalogue = load_programme(session)
        facts = facts_for(session, [user])[user.id]
        return evaluate(item.prerequisite, facts, catalogue.names)
    verdict = row.on(today(session))
    return Evaluation(met=verdict.met, explanation=verdict.explanation, steps=verdict.steps)


# --------------------------------------------------------------------------------------------
# Unlocks


@contextmanager
def watch_many(session: Session, user_ids: Iterable[int]) -> Iterator[None]:
    """Rewrite these people's standings after the block, sending item_unlocked for each item
    that became open (the standings' diff says which).

    A watch nested inside another for the same person is a no-op, so record_completion inside
    a cohort or an approval signals once.
    """
    watching: set[int] = session.info.setdefault(_WATCHING, set())
    fresh = sorted(set(user_ids) - watching)
    if not fresh:
        yield
        return
    standings.sync(session)  # the rows are current before the change, so the diff is its own
    watching.update(fresh)
    try:
        yield
    finally:
        watching.difference_update(fresh)
    standings.refresh(session, fresh, signal_unlocks=True)


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
    retreat: RetreatState | None = None  # retreats only: attended, applied, open or locked

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


def item_status(item: Any, values: RowValues | None, on: date) -> ItemStatus:
    """One item's state for one person, as their standing row says it is on the day."""
    base: dict[str, Any] = {
        "code": item.code,
        "title": item.title,
        "kind": item.kind,
        "description": item.description,
        "format": item.format,
        "ce_hours": item.ce_hours,
    }
    if values is None:  # no row (yet): nothing is claimed open
        return ItemStatus(**base, state=ItemState.LOCKED)
    verdict = values.on(on)
    retreat = None
    if item.kind == ItemKind.RETREAT:
        retreat = retreat_state(verdict.state, verdict.met, values.application_status)
    locked = verdict.state == ItemState.LOCKED
    return ItemStatus(
        **base,
        state=verdict.state,
        completed_on=values.completed_on,
        completion_id=values.completion_id,
        explanation=verdict.explanation if locked else "",
        steps=verdict.steps if locked else (),
        recommendation=values.recommendation,
        pending_equivalency=values.pending_equivalency,
        retreat=retreat,
    )


@dataclass(frozen=True)
class ClinicianSnapshot:
    """One clinician's progress with the catalogue it was shown against.

    Loaded once per dashboard view and handed to every dashboard section, so that no
    section reads the catalogue or the person's standings a second time.
    """

    user: User
    on: date  # the day the standings were read for (a licence may lapse at midnight)
    catalogue: Programme
    progress: ClinicianProgress
    items: dict[str, ItemStatus]  # by code


def summary_of(session: Session, user_id: int) -> ProgressSummary | None:
    """The person's progress summary (kept by the standings), or None."""
    return session.get(ProgressSummary, user_id)


def clinician_snapshot(session: Session, user: User) -> ClinicianSnapshot:
    """Everything the dashboard shows about one clinician, read from the standings."""
    day = today(session)
    catalogue = shared_programme(session)
    rows = standings.rows_of(session, user.id)
    history = _history(session, user.id)
    requests = session.execute(_OWN_REQUESTS, {"user_id": user.id}).all()
    summary = summary_of(session, user.id)
    pending_requests = [
        PendingRequest(r.code, r.title, r.outside_programme, r.created_at)
        for r in requests
        if r.status == EquivalencyStatus.PENDING
    ]
    statuses = [item_status(item, rows.get(item.id), day) for item in catalogue.items]
    progress = ClinicianProgress(
        user_id=user.id,
        name=user.name,
        display_name=user.display_name,
        email=user.email,
        licence=licence_label(user, day),
        licensed=user.licensed_on(day),
        pre_licensed=user.pre_licensed,
        ce_hours=summary.ce_hours if summary is not None else Decimal(0),
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
    return ClinicianSnapshot(user, day, catalogue, progress, {s.code: s for s in statuses})


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


def _filters(query: RosterQuery, catalogue: Programme, day: date) -> _Filters:
    """The roster query's filters as SQL over the standings and the summaries."""
    person: list[Any] = []
    term = query.search.strip().lower()
    if term:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        person.append(
            or_(
                ProgressSummary.sort_name.like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(func.coalesce(User.licence_number, "")).like(pattern, escape="\\"),
            )
        )
    if query.licence == "pre-licensed":
        person.append(User.pre_licensed.is_(True))
    elif query.licence == "licensed":
        person.append(standings.licensed_on(day))
    elif query.licence == "unlicensed":
        person.append(not_(standings.licensed_on(day)))
    items: list[tuple[int, list[Any]]] = []
    if query.missing:
        items.append(
            (
                catalogue.by_code[query.missing].id,
                [lambda row: row.state.not_in([ItemState.COMPLETED, ItemState.CREDITED])],
            )
        )
    if query.item and query.item_state:
        wanted = query.item_state == "completed"
        items.append(
            (
                catalogue.by_code[query.item].id,
                [lambda row: (row.state == ItemState.COMPLETED) == wanted],
            )
        )
    if query.eligible:
        conditions: list[Any] = [
            lambda row: met_on(day, row),
            lambda row: row.state != ItemState.COMPLETED,
        ]
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
    standings.sync(session)
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
                last_activity=last.date() if last is not None else None,
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
    state = status.retreat or RetreatState.LOCKED
    if state == RetreatState.ATTENDED:
        return RetreatCell(retreat.code, "Completed", "ok")
    if state == RetreatState.OPEN:
        return RetreatCell(retreat.code, "Open", "ok")
    if state == RetreatState.LOCKED:
        return RetreatCell(retreat.code, "Locked", "warn", status.explanation)
    return RetreatCell(retreat.code, state.label, state.badge)


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
    return [(i.code, i.title) for i in load_programme(session).modules]


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

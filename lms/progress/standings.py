"""The progress read model: each clinician's standing rows, kept equal to a full recomputation.

Writes keep the standings, so reads are cheap: every flush notes whose facts it touched
(completions, equivalency requests, applications, licence columns, roles) and, before the
transaction commits, `sync` rewrites those people's rows — one evaluation of every rule, here
and nowhere else. A catalogue change marks everyone. Pages, guards and exports read the rows
with indexed SQL; `check` recomputes from history and lists the rows that differ, `rebuild`
repairs them, and `refresh_lapsed` (daily, from cron) folds licences that lapsed into the rows
(readers already pick the lapsed verdict by the date, so nothing is stale in between).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import chain
from typing import Any

from sqlalchemy import and_, delete, event, func, insert, inspect, or_, select, union_all, update
from sqlalchemy.orm import ORMExecuteState, Session

from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem, RetreatSession
from lms.catalog.rules import Evaluation, Facts
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.progress.facts import Programme, load_programme, make_facts, today
from lms.progress.models import Completion, ItemState, ProgressSummary, Standing
from lms.retreats.models import Application, ApplicationStatus
from lms.signals import item_unlocked

CHUNK = 500  # people per batch: bounded memory and bound parameters on every backend
_DIRTY = "lms.standings.dirty"  # session.info: ids of people whose facts changed
_EVERYONE = "lms.standings.everyone"  # session.info: the catalogue changed
_SYNCING = "lms.standings.syncing"
# The columns of users whose change can change a standing.
_USER_FACTS = (
    "name",
    "pre_licensed",
    "licence_number",
    "licence_verified_at",
    "licence_expires_on",
    "anonymised_at",
)


# The columns of catalog_items whose change can change a standing (explanations name titles).
_ITEM_FACTS = (
    "code",
    "kind",
    "title",
    "ce_hours",
    "prerequisite",
    "recommended",
    "recommended_note",
    "equivalent_label",
    "active",
)


class RetreatState(StrEnum):
    """Where a clinician stands with one retreat."""

    LOCKED = "locked"
    OPEN = "open"
    MEDICAL_REVIEW = "medical_review"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    NOT_CLEARED = "not_cleared"
    ATTENDED = "attended"

    @property
    def label(self) -> str:
        """Human name of the standing."""
        return {
            "locked": "Locked",
            "open": "Open to you",
            "medical_review": "Applied: in medical review",
            "accepted": "Accepted",
            "waitlisted": "Waitlisted",
            "not_cleared": "Not cleared",
            "attended": "Attended",
        }[self.value]

    @property
    def badge(self) -> str:
        """CSS badge class of the standing."""
        return {
            "locked": "warn",
            "open": "info",
            "medical_review": "info",
            "accepted": "ok",
            "waitlisted": "warn",
            "not_cleared": "bad",
            "attended": "ok",
        }[self.value]


# When a clinician has several live applications to one retreat, the most advanced one counts.
APPLICATION_RANK = {
    ApplicationStatus.ATTENDED: 0,
    ApplicationStatus.ACCEPTED: 1,
    ApplicationStatus.WAITLISTED: 2,
    ApplicationStatus.MEDICAL_REVIEW: 3,
    ApplicationStatus.NOT_CLEARED: 4,
}
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


def retreat_state(state: ItemState, met: bool, application_status: str | None) -> RetreatState:
    """The one place a retreat's state is decided: attended, applied, open or locked."""
    if state == ItemState.COMPLETED:
        return RetreatState.ATTENDED
    if application_status:
        return RetreatState(application_status)
    return RetreatState.OPEN if met else RetreatState.LOCKED


# --------------------------------------------------------------------------------------------
# The values of one row


@dataclass(frozen=True)
class Verdict:
    """A standing as it is judged now, or as it will be once the licence lapses."""

    state: ItemState
    met: bool
    explanation: str = ""
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowValues:
    """Every column of one standing row but the key."""

    now: Verdict
    recommendation: str = ""
    completed_on: date | None = None
    completion_id: int | None = None
    pending_equivalency: str = ""
    applied: bool = False
    application_status: str | None = None
    lapses_on: date | None = None
    lapsed: Verdict | None = None

    def on(self, day: date) -> Verdict:
        """The verdict that holds on the day."""
        if self.lapses_on is not None and self.lapses_on <= day and self.lapsed is not None:
            return self.lapsed
        return self.now

    def shown(self, day: date) -> tuple[Any, ...]:
        """What readers see on the day."""
        return (
            self.on(day),
            self.recommendation,
            self.completed_on,
            self.completion_id,
            self.pending_equivalency,
            self.applied,
            self.application_status,
        )

    def columns(self) -> dict[str, Any]:
        """The row as column values."""
        lapsed = self.lapsed
        return {
            "state": self.now.state,
            "met": self.now.met,
            "explanation": self.now.explanation,
            "steps": list(self.now.steps),
            "recommendation": self.recommendation,
            "completed_on": self.completed_on,
            "completion_id": self.completion_id,
            "pending_equivalency": self.pending_equivalency,
            "applied": self.applied,
            "application_status": self.application_status,
            "lapses_on": self.lapses_on,
            "lapsed_state": lapsed.state if lapsed else None,
            "lapsed_met": lapsed.met if lapsed else None,
            "lapsed_explanation": lapsed.explanation if lapsed else None,
            "lapsed_steps": list(lapsed.steps) if lapsed else None,
        }

    @classmethod
    def of(cls, row: Any) -> RowValues:
        """The values of a stored row (an ORM object or a result row)."""
        lapsed = None
        if row.lapsed_state is not None:
            lapsed = Verdict(
                ItemState(row.lapsed_state),
                bool(row.lapsed_met),
                row.lapsed_explanation or "",
                tuple(row.lapsed_steps or ()),
            )
        return cls(
            now=Verdict(
                ItemState(row.state), bool(row.met), row.explanation or "", tuple(row.steps or ())
            ),
            recommendation=row.recommendation or "",
            completed_on=row.completed_on,
            completion_id=row.completion_id,
            pending_equivalency=row.pending_equivalency or "",
            applied=bool(row.applied),
            application_status=row.application_status,
            lapses_on=row.lapses_on,
            lapsed=lapsed,
        )


@dataclass(frozen=True)
class SummaryValues:
    """Every column of one progress summary but the key."""

    sort_name: str
    modules_done: int
    ce_hours: Decimal
    licensed: bool
    lapses_on: date | None
    last_activity_at: datetime | None

    def columns(self) -> dict[str, Any]:
        """The summary as column values."""
        return dict(self.__dict__)

    def shown(self, day: date) -> tuple[Any, ...]:
        """What readers see on the day."""
        licensed = self.licensed and (self.lapses_on is None or self.lapses_on > day)
        return (self.sort_name, self.modules_done, self.ce_hours, licensed, self.last_activity_at)

    @classmethod
    def of(cls, row: Any) -> SummaryValues:
        """The values of a stored summary."""
        return cls(
            sort_name=row.sort_name,
            modules_done=row.modules_done,
            ce_hours=Decimal(row.ce_hours).quantize(Decimal("0.01")),
            licensed=bool(row.licensed),
            lapses_on=row.lapses_on,
            last_activity_at=row.last_activity_at,
        )


# --------------------------------------------------------------------------------------------
# History: what the rows are computed from, loaded for many people in a few queries


@dataclass
class History:
    """One person's facts as rows: live completions, equivalencies, applications."""

    completions: dict[int, tuple[int, date]] = field(default_factory=dict)  # item -> (id, on)
    approved: set[int] = field(default_factory=set)
    pending: dict[int, str] = field(default_factory=dict)  # item -> outside programme
    applications: dict[int, list[ApplicationStatus]] = field(
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


def _people(session: Session, ids: Sequence[int] | None) -> list[Any]:
    """Clinicians (not anonymised) among the ids, or all of them: one query."""
    query = (
        select(*_PERSON)
        .where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.CLINICIAN)),
            User.anonymised_at.is_(None),
        )
        .order_by(User.id)
    )
    if ids is not None:
        query = query.where(User.id.in_(ids))
    return list(session.execute(query))


def _histories(session: Session, ids: Sequence[int]) -> dict[int, History]:
    """The history of each person: four queries however many people."""
    found: dict[int, History] = defaultdict(History)
    for user_id, item_id, completion_id, completed_on in session.execute(
        select(
            Completion.user_id, Completion.item_id, Completion.id, Completion.completed_on
        ).where(Completion.user_id.in_(ids), Completion.revoked_at.is_(None))
    ):
        found[user_id].completions[item_id] = (completion_id, completed_on)
    for user_id, item_id, status, outside in session.execute(
        select(
            EquivalencyRequest.user_id,
            EquivalencyRequest.item_id,
            EquivalencyRequest.status,
            EquivalencyRequest.outside_programme,
        )
        .where(
            EquivalencyRequest.user_id.in_(ids),
            EquivalencyRequest.status.in_([EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]),
        )
        .order_by(EquivalencyRequest.created_at, EquivalencyRequest.id)
    ):
        if status == EquivalencyStatus.APPROVED:
            found[user_id].approved.add(item_id)
        else:
            found[user_id].pending.setdefault(item_id, outside)
    for user_id, item_id, status in session.execute(
        select(Application.user_id, RetreatSession.item_id, Application.status)
        .join(RetreatSession, Application.session_id == RetreatSession.id)
        .where(Application.user_id.in_(ids), Application.status != ApplicationStatus.WITHDRAWN)
        .order_by(Application.applied_at, Application.id)
    ):
        found[user_id].applications[item_id].append(ApplicationStatus(status))
    moments = union_all(
        select(Completion.user_id.label("user_id"), Completion.recorded_at.label("at")).where(
            Completion.user_id.in_(ids)
        ),
        select(Application.user_id, Application.applied_at).where(Application.user_id.in_(ids)),
        select(EquivalencyRequest.user_id, EquivalencyRequest.created_at).where(
            EquivalencyRequest.user_id.in_(ids)
        ),
    ).subquery()
    for user_id, at in session.execute(
        select(moments.c.user_id, func.max(moments.c.at)).group_by(moments.c.user_id)
    ):
        if at is not None:
            found[user_id].last_activity_at = _as_utc(at)
    return found


def _as_utc(moment: datetime | str) -> datetime:
    """A timestamp from an aggregate, which SQLite may hand back as text."""
    from datetime import UTC

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Judging: the one evaluation of every rule


def facts_of(person: Any, history: History, programme: Programme, on: date) -> Facts:
    """The rule facts of one person from their history."""
    statuses = chain.from_iterable(history.applications.values())
    return make_facts(
        person,
        completed=(programme.index[i] for i in history.completions if i in programme.index),
        approved=(programme.index[i][0] for i in history.approved if i in programme.index),
        application_statuses=statuses,
        on=on,
    )


def _verdict(item: Any, facts: Facts, programme: Programme) -> Verdict:
    """The item's state for facts that carry no completion or credit of it."""
    evaluation: Evaluation = programme.verdict(item, facts)
    if item.code in facts.completed:
        return Verdict(ItemState.COMPLETED, evaluation.met)
    if item.code in facts.equivalent:
        return Verdict(ItemState.CREDITED, evaluation.met)
    if evaluation.met:
        return Verdict(ItemState.AVAILABLE, True)
    return Verdict(ItemState.LOCKED, False, evaluation.explanation, evaluation.steps)


def _recommendation(item: Any, facts: Facts, programme: Programme) -> str:
    """The soft advice shown beside an open or locked item, or ''."""
    if item.recommended is None or item.code in facts.completed or item.code in facts.equivalent:
        return ""
    advice = programme.verdict(item, facts, "recommended")
    if advice.met:
        return ""
    return item.recommended_note or f"Recommended first: {advice.explanation}"


def judge(
    person: Any, history: History, programme: Programme, on: date
) -> tuple[dict[int, RowValues], SummaryValues]:
    """Every standing row and the summary of one person, as history says they are on the day."""
    facts = facts_of(person, history, programme, on)
    lapses_on = None
    lapsed_facts = None
    if facts.licensed and person.licence_expires_on is not None:
        lapses_on = person.licence_expires_on + timedelta(days=1)
        lapsed_facts = replace(facts, licensed=False)
    rows: dict[int, RowValues] = {}
    for item in programme.items:
        now = _verdict(item, facts, programme)
        lapsed = _verdict(item, lapsed_facts, programme) if lapsed_facts else None
        completion = history.completions.get(item.id)
        statuses = history.applications.get(item.id, [])
        ranked = sorted((s for s in statuses if s in APPLICATION_RANK), key=APPLICATION_RANK.get)
        rows[item.id] = RowValues(
            now=now,
            recommendation=_recommendation(item, facts, programme),
            completed_on=completion[1] if completion else None,
            completion_id=completion[0] if completion else None,
            pending_equivalency=history.pending.get(item.id, ""),
            applied=bool(statuses),
            application_status=ranked[0].value if ranked else None,
            lapses_on=lapses_on if lapsed else None,
            lapsed=lapsed,
        )
    module_codes = {m.code for m in programme.modules}
    summary = SummaryValues(
        sort_name=person.name.lower()[:200],
        modules_done=len((facts.completed | facts.equivalent) & module_codes),
        ce_hours=facts.ce_hours.quantize(Decimal("0.01")),
        licensed=facts.licensed,
        lapses_on=lapses_on,
        last_activity_at=history.last_activity_at,
    )
    return rows, summary


# --------------------------------------------------------------------------------------------
# Writing the rows


@dataclass
class Report:
    """What a refresh (or a check) found."""

    people: int = 0
    rows_written: int = 0
    rows_deleted: int = 0
    differences: list[str] = field(default_factory=list)


def _stored(session: Session, ids: Sequence[int]) -> tuple[dict, dict]:
    """The stored rows and summaries of the people: two queries."""
    rows = {
        (r.user_id, r.item_id): r
        for r in session.execute(select(*Standing.__table__.c).where(Standing.user_id.in_(ids)))
    }
    summaries = {
        r.user_id: r
        for r in session.execute(
            select(*ProgressSummary.__table__.c).where(ProgressSummary.user_id.in_(ids))
        )
    }
    return rows, summaries


def _open(values: RowValues | None, item: Any, on: date) -> bool:
    """Whether an item counts as newly reachable: gated, met, not completed."""
    if values is None or item.prerequisite is None:
        return False
    verdict = values.on(on)
    return verdict.met and verdict.state in (ItemState.AVAILABLE, ItemState.CREDITED)


def _refresh_chunk(
    session: Session,
    programme: Programme,
    ids: Sequence[int],
    on: date,
    report: Report,
    *,
    write: bool,
    signal_unlocks: bool,
) -> None:
    """Recompute the people's rows and write (or, for a check, list) what differs."""
    people = {p.id: p for p in _people(session, ids)}
    histories = _histories(session, list(people)) if people else {}
    stored_rows, stored_summaries = _stored(session, ids)
    report.people += len(people)
    inserts: list[dict] = []
    updates: list[dict] = []
    gone: list[tuple[int, int]] = [key for key in stored_rows if key[0] not in people]
    summary_inserts: list[dict] = []
    summary_updates: list[dict] = []
    summaries_gone = [uid for uid in stored_summaries if uid not in people]
    unlocked: dict[int, list[Any]] = {}
    for uid, person in people.items():
        rows, summary = judge(person, histories.get(uid) or History(), programme, on)
        for item in programme.items:
            key = (uid, item.id)
            wanted = rows[item.id]
            old = stored_rows.get(key)
            old_values = RowValues.of(old) if old is not None else None
            if old_values == wanted:
                continue
            if not write and old_values is not None and old_values.shown(on) == wanted.shown(on):
                continue  # a check judges what readers see on the day (a lapse not yet folded)
            opened = not _open(old_values, item, on) and _open(wanted, item, on)
            # Someone who had no rows yet (a new clinician) is not told of everything open.
            if signal_unlocks and opened and old_values is not None:
                unlocked.setdefault(uid, []).append(item)
            values = {"user_id": uid, "item_id": item.id, **wanted.columns()}
            (updates if old is not None else inserts).append(values)
            report.differences.append(
                f"standing of person {uid} for {item.code}: "
                + ("missing" if old is None else "differs from history")
            )
        for key in stored_rows:
            if key[0] == uid and key[1] not in rows:
                gone.append(key)
        old_summary = stored_summaries.get(uid)
        old_line = SummaryValues.of(old_summary) if old_summary is not None else None
        if old_line != summary and (
            write or old_line is None or old_line.shown(on) != summary.shown(on)
        ):
            values = {"user_id": uid, **summary.columns()}
            (summary_updates if old_summary is not None else summary_inserts).append(values)
            report.differences.append(
                f"summary of person {uid}: "
                + ("missing" if old_summary is None else "differs from history")
            )
    for user_id, item_id in gone:
        report.differences.append(f"standing of person {user_id} for item #{item_id}: not due")
    for uid in summaries_gone:
        report.differences.append(f"summary of person {uid}: not due")
    if not write:
        return
    if gone:
        for user_id, item_id in gone:
            session.execute(
                delete(Standing).where(Standing.user_id == user_id, Standing.item_id == item_id)
            )
    if summaries_gone:
        session.execute(delete(ProgressSummary).where(ProgressSummary.user_id.in_(summaries_gone)))
    if inserts:
        session.execute(insert(Standing), inserts)
    if updates:
        session.execute(update(Standing), updates)
    if summary_inserts:
        session.execute(insert(ProgressSummary), summary_inserts)
    if summary_updates:
        session.execute(update(ProgressSummary), summary_updates)
    report.rows_written += len(inserts) + len(updates) + len(summary_inserts) + len(summary_updates)
    report.rows_deleted += len(gone) + len(summaries_gone)
    if unlocked:
        users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(unlocked)))}
        for uid, items in unlocked.items():
            for item in items:  # programme order, so receivers see Module 2 before Module 3
                item_unlocked.send(users[uid], session=session, item=item)


def everyone(session: Session) -> list[int]:
    """Everyone who has or should have rows: clinicians and people with stored rows."""
    clinicians = select(UserRole.user_id).where(UserRole.role == Role.CLINICIAN)
    stored = select(ProgressSummary.user_id)
    return sorted(set(session.scalars(clinicians)) | set(session.scalars(stored)))


def refresh(
    session: Session,
    user_ids: Iterable[int] | None = None,
    *,
    on: date | None = None,
    write: bool = True,
    signal_unlocks: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Report:
    """Recompute the standings of the people (everyone when None) and write what differs.

    With `write=False` nothing is written and the report lists the differences (the check).
    With `signal_unlocks`, `item_unlocked` is sent for every gated item that became open.
    """
    day = on or today(session)
    if write:
        session.flush()  # every change is noted before the rows are judged
    programme = load_programme(session)
    ids = sorted(set(user_ids)) if user_ids is not None else everyone(session)
    if write:
        dirty: set[int] = session.info.get(_DIRTY, set())
        if user_ids is None:
            dirty.clear()
            session.info.pop(_EVERYONE, None)
        else:
            dirty.difference_update(ids)
    report = Report()
    with session.no_autoflush:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            _refresh_chunk(
                session,
                programme,
                chunk,
                day,
                report,
                write=write,
                signal_unlocks=signal_unlocks,
            )
            if on_progress is not None:
                on_progress(len(chunk))
    return report


def check(session: Session, *, on: date | None = None) -> Report:
    """Recompute everyone's standing from history and list every stored row that differs."""
    return refresh(session, None, on=on, write=False)


def refresh_lapsed(session: Session, *, on: date | None = None) -> Report:
    """Fold licences that lapsed by the day into the rows (the daily job)."""
    day = on or today(session)
    ids = session.scalars(
        select(ProgressSummary.user_id).where(
            ProgressSummary.lapses_on.is_not(None), ProgressSummary.lapses_on <= day
        )
    ).all()
    return refresh(session, ids, on=day)


# --------------------------------------------------------------------------------------------
# Reading


def met_on(on: date, row: Any = Standing) -> Any:
    """SQL: the standing's prerequisite is met on the day (the row may be an alias).

    Rules are monotone (no leaf is a negation), so losing a licence never turns an unmet rule
    into a met one: met on the day = met now, unless the licence has lapsed by then and the
    lapsed verdict is unmet. Written so the (item, met, ...) index narrows it.
    """
    return and_(
        row.met.is_(True),
        or_(row.lapses_on.is_(None), row.lapses_on > on, row.lapsed_met.is_(True)),
    )


def licensed_on(on: date) -> Any:
    """SQL: the summary's licence counts on the day."""
    return and_(
        ProgressSummary.licensed.is_(True),
        or_(ProgressSummary.lapses_on.is_(None), ProgressSummary.lapses_on > on),
    )


def rows_of(session: Session, user_id: int) -> dict[int, RowValues]:
    """One person's stored rows by item id (synced first): one query."""
    sync(session)
    return {
        r.item_id: RowValues.of(r)
        for r in session.execute(select(*Standing.__table__.c).where(Standing.user_id == user_id))
    }


def row_of(session: Session, user_id: int, item_id: int) -> RowValues | None:
    """One stored row (synced first), or None."""
    sync(session)
    found = session.execute(
        select(*Standing.__table__.c).where(
            Standing.user_id == user_id, Standing.item_id == item_id
        )
    ).first()
    return RowValues.of(found) if found is not None else None


# --------------------------------------------------------------------------------------------
# Keeping the rows: note what each flush touched, rewrite before commit


def mark_changed(session: Session, user_ids: Iterable[int]) -> None:
    """Note people whose facts changed by a statement the flush cannot see (bulk SQL)."""
    session.info.setdefault(_DIRTY, set()).update(user_ids)


def mark_everyone(session: Session) -> None:
    """Note that the catalogue changed: everyone's rows are recomputed before commit."""
    session.info[_EVERYONE] = True


def catalogue_changed(session: Session) -> bool:
    """Whether this transaction changed the catalogue in a way the standings show (flushes)."""
    session.flush()
    return bool(session.info.get(_EVERYONE))


def _changed_user(obj: User) -> bool:
    """Whether an account's flush changed a column the standings read."""
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _USER_FACTS)


def _changed_item(obj: CatalogItem, session: Session) -> bool:
    """Whether an item's flush changed something a standing says (rules, titles, kind...)."""
    if obj in session.new or obj in session.deleted:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _ITEM_FACTS)


def _note_flush(session: Session, _context: Any) -> None:
    """after_flush: remember whose facts the flush touched."""
    dirty: set[int] = session.info.setdefault(_DIRTY, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Completion | EquivalencyRequest | Application | UserRole):
            if obj.user_id is not None:
                dirty.add(obj.user_id)
        elif isinstance(obj, User):
            changed = obj in session.new or obj in session.deleted or _changed_user(obj)
            if changed and obj.id is not None:
                dirty.add(obj.id)
        elif isinstance(obj, CatalogItem) and _changed_item(obj, session):
            session.info[_EVERYONE] = True


_PERSON_OF = {
    Completion: Completion.user_id,
    EquivalencyRequest: EquivalencyRequest.user_id,
    Application: Application.user_id,
    UserRole: UserRole.user_id,
    User: User.id,
}


def _note_statement(state: ORMExecuteState) -> None:
    """do_orm_execute: bulk UPDATE/DELETE bypass the flush, so note whom they touch first."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    entity = state.bind_mapper.class_
    if entity is CatalogItem:
        state.session.info[_EVERYONE] = True
        return
    column = _PERSON_OF.get(entity)
    if column is None:
        return
    whereclause = state.statement.whereclause
    query = select(column) if whereclause is None else select(column).where(whereclause)
    with state.session.no_autoflush:
        touched = state.session.execute(query).scalars().all()
    state.session.info.setdefault(_DIRTY, set()).update(touched)


def sync(session: Session) -> Report | None:
    """Flush, then rewrite the rows of everyone whose facts changed in this transaction."""
    if session.info.get(_SYNCING):
        return None
    session.flush()
    everyone = session.info.pop(_EVERYONE, False)
    dirty = session.info.pop(_DIRTY, set())
    if not everyone and not dirty:
        return None
    session.info[_SYNCING] = True
    try:
        return refresh(session, None if everyone else dirty)
    finally:
        session.info.pop(_SYNCING, None)


def _before_commit(session: Session) -> None:
    """before_commit: the rows commit with the change that made them.

    Marks left by a rolled-back change are harmless: recomputing a row that did not change
    writes nothing. A savepoint's release also fires before_commit: the outer transaction
    commits later, and its own before_commit rewrites the rows then.
    """
    if session.in_nested_transaction():
        return
    sync(session)


def install() -> None:
    """Keep the standings on every ORM session (once per process)."""
    if event.contains(Session, "after_flush", _note_flush):
        return
    event.listen(Session, "after_flush", _note_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "do_orm_execute", _note_statement)

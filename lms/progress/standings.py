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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from lms.auth.api import Role, User, UserRole
from lms.catalog.api import Evaluation, Facts
from lms.db import read
from lms.progress.facts import (
    History,
    Programme,
    clinicians_among,
    facts_of,
    histories_of,
    shared_programme,
    today,
)
from lms.progress.models import ItemState, ProgressSummary, Standing
from lms.read_models import KeptRows
from lms.signals import item_unlocked

CHUNK = 500  # people per batch: bounded memory and bound parameters on every backend
# The columns of catalog_items whose change can change a standing (explanations name titles).
_ITEM_FACTS = frozenset(
    {
        "code",
        "kind",
        "title",
        "short_title",
        "ce_hours",
        "prerequisite",
        "recommended",
        "recommended_note",
        "equivalent_label",
        "active",
    }
)


def _rewrite_marked(session: Session, dirty: set[int], everyone: bool) -> Report:
    """The marked people's rows rewritten (everyone's when the catalogue changed): the report."""
    return refresh(session, None if everyone else dirty)


# The rows kept before each commit (lms.progress.tracking subscribes their handlers).
KEPT = KeptRows("lms.standings", _rewrite_marked, item_facts=_ITEM_FACTS)


# --------------------------------------------------------------------------------------------
# The values of one row


@dataclass(frozen=True)
class Verdict:
    """A standing as it is judged now, or as it will be once the licence lapses."""

    state: ItemState
    met: bool
    explanation: str = ""
    steps: tuple[str, ...] = ()
    # Locked only: the explanation as a list, in its JSON form (lms.catalog.rules.Outline):
    # as stored, so a read builds no objects, and equal whether judged or read back.
    outline: dict[str, Any] | None = None


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
        return {
            **_verdict_columns(self.now, ""),
            "recommendation": self.recommendation,
            "completed_on": self.completed_on,
            "completion_id": self.completion_id,
            "pending_equivalency": self.pending_equivalency,
            "applied": self.applied,
            "application_status": self.application_status,
            "lapses_on": self.lapses_on,
            **_verdict_columns(self.lapsed, "lapsed_"),
        }

    @classmethod
    def of(cls, row: Any) -> RowValues:
        """The values of a stored row (an ORM object or a result row)."""
        return cls(
            now=_stored_verdict(row, ""),
            recommendation=row.recommendation or "",
            completed_on=row.completed_on,
            completion_id=row.completion_id,
            pending_equivalency=row.pending_equivalency or "",
            applied=bool(row.applied),
            application_status=row.application_status,
            lapses_on=row.lapses_on,
            lapsed=_stored_verdict(row, "lapsed_") if row.lapsed_state is not None else None,
        )


# A verdict's columns: the verdict now under these names, the lapsed one prefixed "lapsed_".
_VERDICT_FIELDS = ("state", "met", "explanation", "steps", "outline")
_VERDICT_COLUMNS = {
    prefix: attrgetter(*(prefix + name for name in _VERDICT_FIELDS)) for prefix in ("", "lapsed_")
}


def _stored_verdict(row: Any, prefix: str) -> Verdict:
    """The verdict a stored row holds in its columns named with `prefix`."""
    state, met, explanation, steps, outline = _VERDICT_COLUMNS[prefix](row)
    return Verdict(ItemState(state), bool(met), explanation or "", tuple(steps or ()), outline)


def _verdict_columns(verdict: Verdict | None, prefix: str) -> dict[str, Any]:
    """A verdict as the values of its columns named with `prefix` (all None for none)."""
    if verdict is None:
        return {prefix + name: None for name in _VERDICT_FIELDS}
    values = (verdict.state, verdict.met, verdict.explanation, list(verdict.steps), verdict.outline)
    return {prefix + name: value for name, value in zip(_VERDICT_FIELDS, values, strict=True)}


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
# Judging: the one evaluation of every rule


def _verdict(item: Any, facts: Facts, programme: Programme) -> Verdict:
    """The item's state for facts that carry no completion or credit of it."""
    evaluation: Evaluation = programme.verdict(item, facts)
    if item.code in facts.completed:
        return Verdict(ItemState.COMPLETED, evaluation.met)
    if item.code in facts.equivalent:
        return Verdict(ItemState.CREDITED, evaluation.met)
    if evaluation.met:
        return Verdict(ItemState.AVAILABLE, True)
    return Verdict(
        ItemState.LOCKED,
        False,
        evaluation.explanation,
        evaluation.steps,
        # A one-line outline says no more than the explanation: not stored, not read back.
        evaluation.outline.json if evaluation.outline and evaluation.outline.parts else None,
    )


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
        rows[item.id] = RowValues(
            now=now,
            recommendation=_recommendation(item, facts, programme),
            completed_on=completion[1] if completion else None,
            completion_id=completion[0] if completion else None,
            pending_equivalency=history.pending.get(item.id, ""),
            applied=item.id in history.applied,
            application_status=history.application_status.get(item.id),
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


_STORED_ROWS = select(*Standing.__table__.c).where(
    Standing.user_id.in_(bindparam("ids", expanding=True))
)
_STORED_SUMMARIES = select(*ProgressSummary.__table__.c).where(
    ProgressSummary.user_id.in_(bindparam("ids", expanding=True))
)


def _update_by_key(table: Any, key: tuple[str, ...]) -> Any:
    """UPDATE of every non-key column where the key columns equal `key_<name>` parameters."""
    return (
        update(table)
        .where(*(table.c[name] == bindparam(f"key_{name}") for name in key))
        .values({c.name: bindparam(c.name) for c in table.c if c.name not in key})
    )


def _keyed(values: dict[str, Any], key: tuple[str, ...]) -> dict[str, Any]:
    """A row's values as `_update_by_key` parameters."""
    return {**{f"key_{name}": values[name] for name in key}, **values}


_ROW_KEY = ("user_id", "item_id")
_SUMMARY_KEY = ("user_id",)
_UPDATE_ROW = _update_by_key(Standing.__table__, _ROW_KEY)
_UPDATE_SUMMARY = _update_by_key(ProgressSummary.__table__, _SUMMARY_KEY)


def _stored(session: Session, ids: Sequence[int]) -> tuple[dict, dict]:
    """The stored rows and summaries of the people: two queries."""
    wanted = {"ids": list(ids)}
    rows = {(r.user_id, r.item_id): r for r in read(session, _STORED_ROWS, wanted)}
    summaries = {r.user_id: r for r in read(session, _STORED_SUMMARIES, wanted)}
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
    people = {p.id: p for p in clinicians_among(session, ids)}
    histories = histories_of(session, list(people)) if people else {}
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
    # Core executemany on the session's connection: the ORM's bulk-by-primary-key path costs
    # more than the writes themselves, and these tables hold no facts anyone tracks.
    connection = session.connection()
    if inserts:
        connection.execute(insert(Standing.__table__), inserts)
    if updates:
        connection.execute(_UPDATE_ROW, [_keyed(values, _ROW_KEY) for values in updates])
    if summary_inserts:
        connection.execute(insert(ProgressSummary.__table__), summary_inserts)
    if summary_updates:
        connection.execute(
            _UPDATE_SUMMARY, [_keyed(values, _SUMMARY_KEY) for values in summary_updates]
        )
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
    programme = shared_programme(session)
    ids = sorted(set(user_ids)) if user_ids is not None else everyone(session)
    if write:
        KEPT.forget(session, None if user_ids is None else ids)
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

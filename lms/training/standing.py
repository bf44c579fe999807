"""Keeping where each credential candidate stands (training_standings), so the staff queues
are indexed reads and not an evaluation of everyone: handlers subscribed to the domain events
that change a fact the requirement reads (lms.signals: a consultation answered or voided, the
session log changed, a document reviewed, a completion, a credit decision, a licence or
account, the catalogue, a requirement published for everyone; and the award, which marks its
person itself) note whose rows changed; before the unit of
work commits, those rows are judged again with the one evaluator (lms.catalog's evaluate, over
the parts lms.training.requirement.rule_parts names), many people in a constant number of
queries. Only the tracker's own sessions are kept, as for the progress standings: the
mechanism is lms.read_models.KeptRows.

Time alone ends a verdict (the window closes, a licence expires): the rows keep those dates and
the readers compare them with the programme's day in SQL (`met_today`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from flask import has_app_context
from sqlalchemy import and_, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from lms import signals
from lms.auth.api import User
from lms.catalog.api import evaluate, window_closes_on
from lms.clock import today
from lms.db import IN_CHUNK, utcnow
from lms.jobs import enqueue_after_commit
from lms.progress.services import facts_for, shared_programme
from lms.read_models import KeptRows, is_trackers_own
from lms.training.facts import training_facts
from lms.training.models import Candidate, Credential, RequirementVersion, TrainingStanding
from lms.training.requirement import rule_parts, window_months

REJUDGE_JOB = "rejudge_training_standings"
# Catalogue attributes a requirement's verdict reads (titles only change its words).
_ITEM_FACTS = frozenset({"code", "kind", "active"})


def _rewrite_marked(session: Session, dirty: set[int], everyone: bool) -> int:
    """Judge the marked people again now; a change that concerns every candidate is marked due
    instead, for a job (`mark_everyone_due`): how many rows changed."""
    changed = refresh(session, dirty) if dirty else 0
    if everyone:  # after the people's rows: standings, then credentials, as the job locks
        mark_everyone_due(session)
    return changed


# The rows kept before each commit (the handlers below note whose facts changed).
KEPT = KeptRows("lms.training.standings", _rewrite_marked, item_facts=_ITEM_FACTS)
# The readers' and the writers' names for them (lms.read_models.KeptRows).
mark_changed = KEPT.mark_changed  # people whose facts changed (by a statement no event names)
sync = KEPT.sync  # flush, then judge the marked people again: how many rows changed, or None


@dataclass(frozen=True)
class StandingValues:
    """What one candidate's row says."""

    met: bool
    parts_met: int
    parts_total: int
    first_event_on: date | None
    window_closes_on: date | None
    lapses_on: date | None
    # In the staff's queues at all: the account is open and the credential not awarded (kept
    # in the row so the queues count by the index alone, whatever the programme's size).
    waiting: bool = True


# --------------------------------------------------------------------------------------------
# Reading


def met_today(on: Any, row: Any = TrainingStanding) -> Any:
    """SQL: the row's requirement is met on the day: met when judged, the window not closed
    since, and the licence (when the verdict needs it) still counting."""
    return and_(
        row.met == true(),  # "= true", which an index can seek (IS cannot)
        or_(row.window_closes_on.is_(None), row.window_closes_on >= on),
        or_(row.lapses_on.is_(None), row.lapses_on > on),
    )


def standing_of(session: Session, user_id: int, credential_id: int) -> TrainingStanding | None:
    """One candidate's row (synced first), or None when they are no candidate."""
    sync(session)
    return session.get(TrainingStanding, (user_id, credential_id))


# --------------------------------------------------------------------------------------------
# Judging


def _judge(
    rule: Any, months: int | None, facts: Any, person: User, names: Any, awarded: bool
) -> StandingValues:
    """One candidate's row from their facts, by the one evaluator (`months`: the rule's
    window, read once per rule by the caller)."""
    # Only the verdicts: the words and pictures of judge_parts are the page's, not the row's.
    verdicts = [evaluate(part, facts, names).met for part in rule_parts(rule)]
    met = all(verdicts)
    closes = window_closes_on(months, facts.training) if months is not None else None
    lapses_on = None
    if met and facts.licensed and person.licence_expires_on is not None:
        unlicensed = dataclasses.replace(facts, licensed=False)
        if not evaluate(rule, unlicensed, names).met:
            lapses_on = person.licence_expires_on + timedelta(days=1)
    return StandingValues(
        met=met,
        parts_met=sum(verdicts),
        parts_total=len(verdicts),
        first_event_on=facts.training.first_event_on,
        window_closes_on=closes,
        lapses_on=lapses_on,
        waiting=not awarded and person.active and person.anonymised_at is None,
    )


def judge_candidates(
    session: Session, candidates: Sequence[tuple[int, int, Any, bool]], on: date
) -> dict[tuple[int, int], StandingValues]:
    """{(user_id, credential_id): row} for (user_id, credential_id, rule, awarded) of at most
    IN_CHUNK people: a constant number of queries, however many."""
    ids = sorted({candidate[0] for candidate in candidates})
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    base = facts_for(session, list(people.values()), on=on)
    training = training_facts(session, ids, on)
    names = shared_programme(session).names
    windows: dict[int, int | None] = {}  # by the rule object: one walk per version
    found = {}
    for user_id, credential_id, rule, awarded in candidates:
        if user_id not in people:
            continue
        if id(rule) not in windows:
            windows[id(rule)] = window_months(rule)
        facts = dataclasses.replace(base[user_id], training=training[user_id])
        found[user_id, credential_id] = _judge(
            rule, windows[id(rule)], facts, people[user_id], names, awarded
        )
    return found


_COLUMNS = tuple(field.name for field in dataclasses.fields(StandingValues))


def _write(
    session: Session, judged: dict[tuple[int, int], StandingValues], on: date, ids: list[int]
) -> int:
    """Insert or update the rows that changed; how many did.

    The rows are read locked (PostgreSQL), in key order as everywhere rows are locked here, so
    a request and the job that judges everyone (lms.training.standing_jobs) write one person's
    row one after the other, each having read the other's committed facts, and never deadlock.
    """
    stored = {
        (row.user_id, row.credential_id): tuple(getattr(row, name) for name in _COLUMNS)
        for row in session.execute(
            select(
                TrainingStanding.user_id,
                TrainingStanding.credential_id,
                *(getattr(TrainingStanding, name) for name in _COLUMNS),
            )
            .where(TrainingStanding.user_id.in_(ids))
            .order_by(TrainingStanding.user_id, TrainingStanding.credential_id)
            .with_for_update()
        )
    }
    inserts, updates = [], []
    for (user_id, credential_id), values in judged.items():
        row = dataclasses.asdict(values)
        now = tuple(row[name] for name in _COLUMNS)
        before = stored.get((user_id, credential_id))
        if before == now:
            continue
        row.update(user_id=user_id, credential_id=credential_id, judged_on=on)
        (inserts if before is None else updates).append(row)
    key = itemgetter("user_id", "credential_id")
    if inserts:
        session.execute(insert(TrainingStanding), sorted(inserts, key=key))
    if updates:
        session.execute(update(TrainingStanding), sorted(updates, key=key))
    return len(inserts) + len(updates)


def refresh(
    session: Session,
    user_ids: Iterable[int] | None,
    *,
    on: date | None = None,
    step: Callable[[], None] | None = None,
) -> int:
    """Judge again the candidates among `user_ids` (None: every candidate) and write the rows
    that changed, IN_CHUNK people at a time; how many rows changed.

    `step` (a job's checkpoint) runs after each chunk: a job judging everyone then holds no
    write transaction longer than one chunk. Such a job locks each chunk's rows before it reads
    their facts (PostgreSQL; a request locks the rows it writes too, `_write`), so a request
    judging one of those people meanwhile writes before or after it, never under it. A version
    published between two chunks is read when a chunk first names it."""
    day = on or today(session)
    rules = dict(session.execute(select(RequirementVersion.id, RequirementVersion.rule)).all())
    changed = 0
    if user_ids is None:
        wanted = list(
            session.scalars(select(Candidate.user_id).distinct().order_by(Candidate.user_id))
        )
    else:
        wanted = sorted(set(user_ids))
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        if step is not None:
            session.execute(
                select(TrainingStanding.user_id)
                .where(TrainingStanding.user_id.in_(chunk))
                .order_by(TrainingStanding.user_id, TrainingStanding.credential_id)
                .with_for_update()
            ).all()
        found = session.execute(
            select(
                Candidate.user_id,
                Candidate.credential_id,
                Candidate.version_id,
                Candidate.awarded_at,
            )
            .where(Candidate.user_id.in_(chunk))
            .order_by(Candidate.user_id, Candidate.credential_id)
        ).all()
        if any(version_id not in rules for _, _, version_id, _ in found):
            rules = dict(
                session.execute(select(RequirementVersion.id, RequirementVersion.rule)).all()
            )
        candidates = [
            (user_id, credential_id, rules[version_id], awarded_at is not None)
            for user_id, credential_id, version_id, awarded_at in found
        ]
        if candidates:
            changed += _write(session, judge_candidates(session, candidates, day), day, chunk)
        if step is not None:
            step()
    return changed


def rebuild(session: Session) -> int:
    """Judge every candidate again (after a bulk load, or to check) and clear a mark that asked
    for it: how many rows changed."""
    session.flush()
    started = utcnow()
    changed = refresh(session, None)
    session.execute(
        update(Credential)
        .where(Credential.standings_due_at <= started)
        .values(standings_due_at=None)
    )
    return changed


# --------------------------------------------------------------------------------------------
# Keeping the rows: note whose facts changed, judge them again before commit


def _the_requirement(_version: Any, *, session: Session, everyone: bool, **_facts: Any) -> None:
    """A requirement published for everyone moves every candidate to it (a version for new
    candidates changes nobody's)."""
    if is_trackers_own(session) and everyone:
        KEPT.mark_everyone(session)


HANDLERS = (
    (signals.training_candidate_started, KEPT.its_person),
    (signals.consultation_answered, KEPT.its_person),
    (signals.consultation_voided, KEPT.its_person),
    (signals.training_session_changed, KEPT.the_person),
    (signals.training_document_reviewed, KEPT.its_person),
    (signals.completion_recorded, KEPT.its_person),
    (signals.completion_revoked, KEPT.its_person),
    (signals.completions_recorded, KEPT.their_people),
    (signals.equivalency_decided, KEPT.its_person),
    (signals.account_changed, KEPT.the_account),
    (signals.licence_verified, KEPT.the_account),
    (signals.catalogue_changed, KEPT.the_catalogue),
    (signals.requirement_published, _the_requirement),
)


def mark_everyone_due(session: Session) -> None:
    """Every candidate is to be judged again: too many for the request that changed the rule
    (100,000 candidates take minutes), so the change marks the credentials due and a job judges
    everyone once it commits (lms.training.standing_jobs; the sweep enqueues it again if that
    is lost, or only after the next commit of the app's unit of work when `session` is not
    it). The people this same change touched are judged now, as always."""
    has_candidates = select(Candidate.user_id).where(Candidate.credential_id == Credential.id)
    marked = session.execute(
        update(Credential).where(has_candidates.exists()).values(standings_due_at=utcnow())
    ).rowcount  # a credential nobody works towards yet has nothing to judge
    if marked and has_app_context():
        enqueue_after_commit(REJUDGE_JOB)


def due_since(session: Session) -> datetime | None:
    """Since when every candidate's standing has been waiting to be judged again (None: the
    standings are current)."""
    return session.scalar(select(func.min(Credential.standings_due_at)))


def subscribe() -> None:
    """Keep the rows on the tracker's own sessions (once per process)."""
    KEPT.install(HANDLERS)

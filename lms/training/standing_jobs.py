"""The job that judges every candidate again after a change that concerns them all (a
requirement published for everyone, a catalogue change a verdict reads): the change marks the
credentials due (lms.training.standing.mark_everyone_due) and enqueues this job after it
commits; the sweep enqueues it again if it was lost.

The job claims the work first (`standings_claimed_at`, renewed at each step), judges everyone
IN_CHUNK people a step, committing each step, and clears the mark only if no newer change set
it again meanwhile (then the next job starts over).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from lms.db import db, utcnow
from lms.jobs import DueJobs, DueWork, checkpoint, due_work, task
from lms.training.models import Credential
from lms.training.standing import REJUDGE_JOB, refresh

# A claim not renewed for this long belongs to a job that died: another may take the work.
CLAIM_LAPSES = timedelta(minutes=15)


def _unclaimed(now: datetime) -> object:
    """SQL: no running job holds the work."""
    return or_(
        Credential.standings_claimed_at.is_(None),
        Credential.standings_claimed_at < now - CLAIM_LAPSES,
    )


class ClaimLost(Exception):
    """Another job took the work over (this one stalled past CLAIM_LAPSES): stop."""


def rejudge_everyone(session: Session, *, step: Callable[[], None] | None = None) -> int | None:
    """Judge every candidate again if the credentials are marked due and no other job is at
    it: how many rows changed (None: nothing due, another job holds the work, or it took the
    work over from this one).

    `step` commits between chunks (the job's checkpoint); without it the caller commits. The
    claim is this job's own moment, renewed at each step only while it is still this job's;
    a failure gives it back, so the sweep's next job starts at once."""
    mine = utcnow()
    claimed = session.execute(
        update(Credential)
        .where(Credential.standings_due_at.is_not(None), _unclaimed(mine))
        .values(standings_claimed_at=mine)
        .returning(Credential.id, Credential.standings_due_at)
    ).all()
    if not claimed:
        return None
    ids = [credential_id for credential_id, _ in claimed]
    held = {"at": mine}

    def renew() -> None:
        """Keep the claim (if it is still this job's), then commit the chunk."""
        now = utcnow()
        kept = session.execute(
            update(Credential)
            .where(Credential.id.in_(ids), Credential.standings_claimed_at == held["at"])
            .values(standings_claimed_at=now)
        ).rowcount
        if kept != len(ids):
            raise ClaimLost
        held["at"] = now
        if step is not None:
            step()

    try:
        renew()
        changed = refresh(session, None, step=renew)
    except ClaimLost:
        session.rollback()
        return None
    except BaseException:
        session.rollback()
        _release(session, ids, held["at"], step)
        raise
    for credential_id, due_at in claimed:
        # A change made while the job ran set a newer mark: it stays, for the next job.
        session.execute(
            update(Credential)
            .where(Credential.id == credential_id, Credential.standings_due_at == due_at)
            .values(standings_due_at=None)
        )
    _release(session, ids, held["at"], None)
    return changed


def _release(
    session: Session, ids: list[int], at: datetime, step: Callable[[], None] | None
) -> None:
    """Give the claim back (only if it is still this job's)."""
    session.execute(
        update(Credential)
        .where(Credential.id.in_(ids), Credential.standings_claimed_at == at)
        .values(standings_claimed_at=None)
    )
    if step is not None:
        step()


@task(REJUDGE_JOB)
def rejudge_training_standings() -> int | None:
    """Judge every candidate again, a committed step at a time (see the module)."""
    return rejudge_everyone(db.session, step=checkpoint)


def _due(session: Session, cutoff: datetime) -> DueJobs:
    """The job, when a mark older than the cutoff waits and no live job holds it."""
    waiting = session.scalar(
        select(literal(1))
        .where(Credential.standings_due_at < cutoff, _unclaimed(utcnow()))
        .limit(1)
    )
    return [(REJUDGE_JOB, ())] if waiting else []


due_work(
    "training_standings",
    DueWork(label="re-judging of every training candidate", find=_due, count=len),
)

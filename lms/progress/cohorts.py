"""Marking a cohort: one completion for each chosen clinician, with why each was skipped, in
one unit of work and one audit event that the result page reads back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms import dates
from lms.audit.api import AuditEvent
from lms.audit.services import record_event
from lms.auth.api import User
from lms.auth.services import accounts_and_clinicians
from lms.catalog.api import CatalogItem
from lms.catalog.services import get_item
from lms.errors import Conflict, InvalidInput, NotFound
from lms.progress.marking import (
    Marking,
    check_completion_date,
    check_item,
    clean_note,
    insert_checked_batch,
    insert_checked_completion,
    person_unrecordable,
    watch_many,
)
from lms.progress.models import Completion, CompletionSource

COHORT_ACTION = "completion.cohort_marked"


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
    note = clean_note(note)
    found, clinicians = accounts_and_clinicians(session, User.id.in_(ids))
    users = {user.id: user for user in found}
    existing: dict[int, date] = dict(
        session.execute(
            select(Completion.user_id, Completion.completed_on).where(
                Completion.user_id.in_(ids),
                Completion.item_id == item.id,
                Completion.is_live,
            )
        ).all()
    )
    # A wrong item or date refuses the whole cohort: nobody could be recorded.
    check_item(item, CompletionSource.INSTRUCTOR)
    completed_on = check_completion_date(completed_on, session)

    skipped: list[CohortEntry] = []
    due: list[tuple[int, User]] = []
    for uid in ids:
        user = users.get(uid)
        if user is None:
            skipped.append(CohortEntry(uid, f"#{uid}", "", "No such account."))
        elif person_unrecordable(
            is_clinician=uid in clinicians, anonymised=user.anonymised_at is not None
        ):
            skipped.append(CohortEntry(uid, user.name, user.email, "Not a clinician."))
        elif uid in existing:
            reason = f"Already completed on {dates.day(existing[uid])}."
            skipped.append(CohortEntry(uid, user.name, user.email, reason))
        else:
            due.append((uid, user))

    mark = Marking(item, completed_on, CompletionSource.INSTRUCTOR, actor_id, note)

    def insert_batch() -> tuple[list[CohortEntry], list[CohortEntry]]:
        """Insert every due completion at once (a racer's duplicate fails the whole batch)."""
        completions = insert_checked_batch(session, [user for _, user in due], mark)
        created = [
            CohortEntry(uid, user.name, user.email, completion_id=completion.id)
            for (uid, user), completion in zip(due, completions, strict=True)
        ]
        return created, []

    def insert_one_by_one() -> tuple[list[CohortEntry], list[CohortEntry]]:
        """Insert every due completion in its own savepoint, skipping those recorded meanwhile."""
        created: list[CohortEntry] = []
        lost: list[CohortEntry] = []
        for uid, user in due:
            try:
                completion = insert_checked_completion(session, user, mark, bulk=False)
            except Conflict as error:  # recorded from elsewhere a moment ago
                lost.append(CohortEntry(uid, user.name, user.email, error.message))
                continue
            created.append(CohortEntry(uid, user.name, user.email, completion_id=completion.id))
        return created, lost

    with watch_many(session, [uid for uid, _ in due]):
        # One savepoint and one flush for the batch (a handful of statements for a cohort of
        # 200, its certificates included); should another request record one of them
        # meanwhile, redo it row by row.
        try:
            with session.begin_nested():
                created, lost = insert_batch()
        except IntegrityError:
            created, lost = insert_one_by_one()
    skipped.extend(lost)
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

"""Marking: recording and revoking completions (one, or a batch for a cohort or an import) and
what they unlock (a cohort's mark is lms.progress.cohorts).

Every way of recording goes through `check_recordable` and `insert_checked_completion`, and
`watch_many` rewrites the standings after the change, sending item_unlocked from their diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms import dates, validation
from lms.audit.api import REASON_MAX, AuditEvent, clean_reason, revoke  # noqa: F401 - REASON_MAX re-exported
from lms.audit.services import record_event_of
from lms.auth.api import Role, User
from lms.catalog.api import CatalogItem, ItemKind
from lms.catalog.services import get_item
from lms.clock import local_date, today
from lms.db import locked_row, read
from lms.errors import Conflict, InvalidInput, NotFound
from lms.i18n import translate
from lms.progress import standings, tracking
from lms.progress.models import Completion, CompletionSource
from lms.signals import completion_recorded, completion_revoked, completions_recorded

EARLIEST_COMPLETION = date(1990, 1, 1)
NOTE_MAX = 2000

_WATCHING = "lms.progress.watching"  # session.info key: user ids with an unlock watch open


# --------------------------------------------------------------------------------------------
# Dates


def latest_allowed_date(session: Session | None = None) -> date:
    """The last date a completion may carry: the programme's today.

    Training happens on the programme's dates (lms.clock), so a completion dated after the
    programme's today is in the future, whatever the recording person's own clock says.
    `session` is the unit of work's (the zone is read through it, not a second connection).
    """
    return today(session)


def check_completion_date(completed_on: date, session: Session | None = None) -> date:
    """Refuse dates in the future or before 1990; return the date itself (`session`: the
    unit of work's, through which the programme's zone is read)."""
    if isinstance(completed_on, datetime):
        # An aware instant is the programme's day it fell on; a naive one is a wall-clock date.
        completed_on = (
            local_date(completed_on, session)
            if completed_on.tzinfo is not None
            else date(completed_on.year, completed_on.month, completed_on.day)
        )
    if not isinstance(completed_on, date):
        raise InvalidInput("Give the completion date as a date (YYYY-MM-DD).")
    if completed_on > latest_allowed_date(session):
        raise InvalidInput(
            f"The completion date {dates.day(completed_on)} is in the future; record the date "
            "the training really happened."
        )
    if completed_on < EARLIEST_COMPLETION:
        raise InvalidInput(
            f"The completion date {dates.day(completed_on)} is before "
            f"{EARLIEST_COMPLETION.year}; check the year."
        )
    return completed_on


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
    tracking.sync(session)  # the rows are current before the change, so the diff is its own
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


# Built once, and a plain column: every mark asks, and loading an entity costs more than the
# query (the answer is nearly always "none").
_LIVE_ON = select(Completion.completed_on).where(
    Completion.user_id == bindparam("user_id"),
    Completion.item_id == bindparam("item_id"),
    Completion.is_live,
)


def _live_completed_on(session: Session, user_id: int, item_id: int) -> date | None:
    """The date of the person's live completion of the item, if there is one."""
    return read(session, _LIVE_ON, {"user_id": user_id, "item_id": item_id}).scalar()


def _already(user: User, item: CatalogItem, completed_on: date) -> str:
    """The message for a completion that exists already."""
    return (
        f"{item.title} is already recorded as completed on {dates.day(completed_on)} "
        f"for {user.name}."
    )


def clean_note(note: str | None) -> str:
    """Trim a note and refuse an overlong one or one with control characters."""
    return validation.multi_line((note or "").strip(), "Note", max_length=NOTE_MAX)


class Unrecordable(StrEnum):
    """Why a completion cannot be recorded: the rule's verdicts, worded by each caller."""

    NOT_CLINICIAN = "not a clinician"
    ANONYMISED = "anonymised"
    ITEM_WITHDRAWN = "no longer offered"
    RETREAT_BY_MARK = "a retreat's completion comes from its attendance"


def person_unrecordable(*, is_clinician: bool, anonymised: bool) -> Unrecordable | None:
    """Why this account cannot hold completions (None: it can). Every path asks this: a
    single mark, a cohort, an import, closing an offering, a retreat's attendance."""
    if anonymised:
        return Unrecordable.ANONYMISED
    if not is_clinician:
        return Unrecordable.NOT_CLINICIAN
    return None


def item_unrecordable(item: CatalogItem, source: CompletionSource) -> Unrecordable | None:
    """Why the item cannot be recorded this way (None: it can)."""
    if not item.active:
        return Unrecordable.ITEM_WITHDRAWN
    if item.kind == ItemKind.RETREAT and source == CompletionSource.INSTRUCTOR:
        return Unrecordable.RETREAT_BY_MARK
    return None


def _check_person(user: User) -> None:
    """Refuse people who cannot hold completions."""
    why = person_unrecordable(
        is_clinician=Role.CLINICIAN in user.roles, anonymised=user.anonymised_at is not None
    )
    if why is Unrecordable.ANONYMISED:
        raise InvalidInput(translate("That account has been anonymised."))
    if why is Unrecordable.NOT_CLINICIAN:
        raise InvalidInput(f"{user.name} ({user.email}) is not a clinician.")


def check_item(item: CatalogItem, source: CompletionSource) -> None:
    """Refuse items that cannot be recorded this way."""
    why = item_unrecordable(item, source)
    if why is Unrecordable.ITEM_WITHDRAWN:
        raise InvalidInput(f"{item.title} is no longer offered, so it cannot be recorded.")
    if why is Unrecordable.RETREAT_BY_MARK:
        raise InvalidInput(
            f"{item.title} is a retreat: its completion comes from marking attendance on the "
            "retreat session (or from an import of past records), not from a module mark."
        )


def check_recordable(
    user: User,
    item: CatalogItem,
    completed_on: date,
    source: CompletionSource,
    session: Session | None = None,
) -> date:
    """Refuse completions that cannot be true; return the checked date."""
    _check_person(user)
    check_item(item, source)
    return check_completion_date(completed_on, session)


def _insert_guarded(session: Session, completion: Completion, user: User, item: Any) -> None:
    """Insert in a savepoint, so that losing a race leaves the rest of the unit of work usable."""
    try:
        with session.begin_nested():
            session.add(completion)
            session.flush()
    except IntegrityError:
        when = _live_completed_on(session, user.id, item.id) or completion.completed_on
        raise Conflict(_already(user, item, when)) from None


def _audit_recorded(
    session: Session, completion: Completion, item: CatalogItem, *, actor_id: int | None, bulk: bool
) -> None:
    """The audit event of one inserted completion."""
    record_event_of(
        session,
        "completion",
        completion,
        "completion.recorded",
        actor_id=actor_id,
        item=item.code,
        completed_on=completion.completed_on,
        source=CompletionSource(completion.source).value,
        bulk=bulk,
    )


@dataclass(frozen=True)
class Marking:
    """What a mark records, whoever it is for: the item, the day it was done, how it came to
    be recorded, who recorded it and their note (checked already)."""

    item: CatalogItem
    completed_on: date
    source: CompletionSource
    actor_id: int | None
    note: str = ""

    def completion(self, user: User) -> Completion:
        """A new completion row of this mark for the person, not yet added."""
        return Completion(
            user_id=user.id,
            item_id=self.item.id,
            completed_on=self.completed_on,
            source=self.source,
            recorded_by_id=self.actor_id,
            note=self.note,
        )


def insert_checked_completion(
    session: Session,
    user: User,
    mark: Marking,
    *,
    bulk: bool,
    offering_id: int | None = None,
    ce_hours: Decimal | None = None,
) -> Completion:
    """Insert a checked completion; the unique live index has the last word on duplicates."""
    item, actor_id = mark.item, mark.actor_id
    completion = mark.completion(user)
    completion.offering_id, completion.ce_hours = offering_id, ce_hours
    _insert_guarded(session, completion, user, item)
    _audit_recorded(session, completion, item, actor_id=actor_id, bulk=bulk)
    completion_recorded.send(completion, session=session, actor_id=actor_id, bulk=bulk)
    return completion


def insert_checked_batch(session: Session, people: list[User], mark: Marking) -> list[Completion]:
    """Insert checked completions for many people in one flush (one statement on a backend
    that batches inserts), audit each, and tell subscribers once for the whole batch.

    A duplicate fails the flush, so the caller holds a savepoint to retry row by row.
    """
    item, actor_id = mark.item, mark.actor_id
    completions = [mark.completion(user) for user in people]
    session.add_all(completions)
    session.flush()
    for completion in completions:
        _audit_recorded(session, completion, item, actor_id=actor_id, bulk=False)
    completions_recorded.send(completions, session=session, actor_id=actor_id)
    return completions


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
    offering_id: int | None = None,
    ce_hours: Decimal | None = None,
) -> Completion:
    """Record that a clinician completed an item on a real date; Conflict if already live.

    `offering_id` names the offering whose attendance earned it; `ce_hours`, the CE hours
    awarded when they are not the item's (partial credit for the days attended)."""
    source = CompletionSource(source)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such clinician.")
    item = get_item(session, item_code)
    completed_on = check_recordable(user, item, completed_on, source, session)
    note = clean_note(note)
    existing = _live_completed_on(session, user.id, item.id)
    if existing is not None:
        raise Conflict(_already(user, item, existing))
    with watch_many(session, [user.id]):
        mark = Marking(item, completed_on, source, actor_id, note)
        return insert_checked_completion(
            session, user, mark, bulk=bulk, offering_id=offering_id, ce_hours=ce_hours
        )


def revoke_completion(
    session: Session, completion_id: int, *, actor_id: int | None, reason: str
) -> Completion:
    """Revoke a mistaken completion with a reason; it stays in the history."""
    reason = clean_reason(reason, "completion")
    completion = locked_row(session, Completion, completion_id, missing="No such completion.")
    revoke(
        session,
        completion,
        actor_id=actor_id,
        reason=reason,
        action="completion.revoked",
        named="This completion",
        item=completion.item.code,
        completed_on=completion.completed_on,
    )
    completion_revoked.send(completion, session=session, actor_id=actor_id, reason=reason)
    return completion


def completion_owner(session: Session, completion_id: int) -> int:
    """The clinician a completion belongs to, or NotFound."""
    owner = session.scalar(select(Completion.user_id).where(Completion.id == completion_id))
    if owner is None:
        raise NotFound("No such completion.")
    return owner

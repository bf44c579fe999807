"""A read model kept by domain-event handlers: rows derived from facts (a person's standings)
rewritten in the same unit of work as the change that moved them.

Handlers subscribed to the domain events (lms.signals) note, in `session.info`, whose facts
changed or that everyone's did; before the unit of work commits, `sync` hands those marks to
the feature's own rewrite, once. Readers of the rows sync first, so a page read mid-transaction
is current too. Only the tracker's own sessions are kept: an event sent with any other session
(a host app's) is ignored.

Each feature names the events it cares about (its table of (signal, handler) pairs, the
handlers taken from its KeptRows) and how its rows are rewritten; the mechanism is here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from blinker import NamedSignal
from sqlalchemy import event
from sqlalchemy.orm import Session

from lms import signals
from lms.db import TrackerSession

R = TypeVar("R")


def is_trackers_own(session: Any) -> bool:
    """Whether the session is one of the tracker's own (a host app's is never touched)."""
    return isinstance(session, TrackerSession)


class KeptRows(Generic[R]):
    """One read model's marks and its rewrite before commit.

    `name` prefixes its keys in `session.info`; `rewrite(session, dirty, everyone)` rewrites the
    rows of the people in `dirty` (or of everyone) and returns what `sync` returns;
    `item_facts` names the catalogue item attributes the rows read (a change to others is
    ignored).
    """

    def __init__(
        self,
        name: str,
        rewrite: Callable[[Session, set[int], bool], R],
        *,
        item_facts: Iterable[str] = (),
    ) -> None:
        """Name the model's marks and keep its rewrite."""
        self.dirty = f"{name}.dirty"  # session.info: ids of people whose facts changed
        self.everyone = f"{name}.everyone"  # session.info: everyone's rows are to be rewritten
        self._syncing = f"{name}.syncing"
        self._rewrite = rewrite
        self._item_facts = frozenset(item_facts)
        # The listener is made once, so listening again finds it (and never doubles it).
        self._listener = self._before_commit

    # ----------------------------------------------------------------------------------------
    # Marks

    def mark_changed(self, session: Session, user_ids: Iterable[int]) -> None:
        """Note people whose facts changed (by a statement no event names, too)."""
        session.info.setdefault(self.dirty, set()).update(user_ids)

    def mark_everyone(self, session: Session) -> None:
        """Note that everyone's rows are to be rewritten before commit."""
        session.info[self.everyone] = True

    def forget(self, session: Session, user_ids: Iterable[int] | None) -> None:
        """Drop the marks of people whose rows are being rewritten now (None: everyone's)."""
        if user_ids is None:
            session.info.pop(self.dirty, None)
            session.info.pop(self.everyone, None)
        else:
            session.info.get(self.dirty, set()).difference_update(user_ids)

    # ----------------------------------------------------------------------------------------
    # The shared handlers: each notes whom a domain event names, on the tracker's own sessions

    def its_person(self, sender: Any, *, session: Session, **_facts: Any) -> None:
        """A row naming its person (a completion, a credit request...) changed: theirs."""
        if is_trackers_own(session) and sender.user_id is not None:
            self.mark_changed(session, [sender.user_id])

    def their_people(self, sender: Iterable[Any], *, session: Session, **_facts: Any) -> None:
        """Completions recorded together (a cohort): each person's."""
        if is_trackers_own(session):
            self.mark_changed(session, {completion.user_id for completion in sender})

    def the_person(self, user_id: int, *, session: Session, **_facts: Any) -> None:
        """An event naming the person by id, not by a row of theirs: theirs."""
        if is_trackers_own(session):
            self.mark_changed(session, [user_id])

    def the_people_named(
        self, _sender: Any, *, session: Session, user_ids: Iterable[int], **_facts: Any
    ) -> None:
        """An event naming its people by id (everyone in an offering whose status changed)."""
        if is_trackers_own(session):
            self.mark_changed(session, user_ids)

    def the_account(self, user: Any, *, session: Session, **_facts: Any) -> None:
        """An account's licence, name or roles changed, or it was created or anonymised."""
        if is_trackers_own(session) and user.id is not None:
            self.mark_changed(session, [user.id])

    def the_catalogue(
        self, _sender: Any, *, session: Session, fields: Any = None, **_facts: Any
    ) -> None:
        """A catalogue change: everyone's rows, unless it touched no attribute the rows read
        (`fields` names the item attributes changed; None: items were added or retired)."""
        if is_trackers_own(session) and (fields is None or self._item_facts & set(fields)):
            self.mark_everyone(session)

    # ----------------------------------------------------------------------------------------
    # Rewriting before commit

    def sync(self, session: Session) -> R | None:
        """Flush, then rewrite the rows this transaction's marks name, once (the rewrite's own
        flushes start no other): what the rewrite returns, or None when nothing was marked."""
        if session.info.get(self._syncing):
            return None
        session.flush()
        everyone = session.info.pop(self.everyone, False)
        dirty = session.info.pop(self.dirty, set())
        if not everyone and not dirty:
            return None
        session.info[self._syncing] = True
        try:
            return self._rewrite(session, dirty, everyone)
        finally:
            session.info.pop(self._syncing, None)

    def _before_commit(self, session: Session) -> None:
        """before_commit: the rows commit with the change that made them.

        Marks left by a rolled-back change are harmless: rewriting a row that did not change
        writes nothing. A savepoint's release also fires before_commit: the outer transaction
        commits later, and its own before_commit rewrites the rows then.
        """
        if session.in_nested_transaction():
            return
        self.sync(session)

    def install(self, handlers: Sequence[tuple[NamedSignal, Callable[..., Any]]]) -> None:
        """Keep the rows on the tracker's own sessions (once per process; again is harmless):
        connect the feature's handlers, and rewrite the marked rows before each commit."""
        signals.connect_all(handlers)
        if not event.contains(TrackerSession, "before_commit", self._listener):
            event.listen(TrackerSession, "before_commit", self._listener)

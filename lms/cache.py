"""A database-held data version that every committed change bumps, and a per-process page cache.

Any transaction that writes application data (anything but audit events, outbox messages and
the counter itself) adds `UPDATE cache_versions SET version = version + 1 WHERE key = 'data'`
as its last statement before COMMIT. A reader that reads the version FIRST and then the data
can keep what it built under that version: a change committed in between only makes the kept
copy older than its stamp, so the next reader, seeing a newer version, builds it again.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Integer, String, TextClause, event, select, text
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, mapped_column
from sqlalchemy.orm import sessionmaker as SessionMaker

from lms.db import Base

DATA_KEY = "data"
CHANGED = "lms_data_changed"  # session.info flag: this transaction wrote application data
# Tables whose rows never appear on a cached page: writing them alone does not bump.
UNCACHED_TABLES = frozenset({"audit_events", "outbox_messages", "cache_versions"})
_BUMP = text("UPDATE cache_versions SET version = version + 1 WHERE key = :key")
_FLUSH_LIMIT = 100  # as SQLAlchemy's own commit: flushes that add more objects, then give up


class CacheVersion(Base):
    """A named counter bumped by every commit that changes what it stands for."""

    __tablename__ = "cache_versions"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


def _counts(obj: object) -> bool:
    """Whether writing this ORM object can change a cached page."""
    table = getattr(type(obj), "__tablename__", None)
    return table not in UNCACHED_TABLES


def _after_flush(session: Session, _context: Any) -> None:
    """Note that the flush wrote application data."""
    if any(_counts(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[CHANGED] = True


def _writes_data(state: ORMExecuteState) -> bool:
    """Whether a statement run through the session may write application data."""
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        return getattr(table, "name", None) not in UNCACHED_TABLES
    if isinstance(statement, TextClause):
        # Raw SQL: anything but a plain SELECT counts as a write (a needless bump is harmless).
        return not statement.text.lstrip().upper().startswith("SELECT")
    return False


def _do_orm_execute(state: ORMExecuteState) -> None:
    """Note bulk and compare-and-set writes that bypass the unit of work."""
    if _writes_data(state):
        state.session.info[CHANGED] = True


def _before_commit(session: Session) -> None:
    """Flush what is pending, then bump the data version if anything was written.

    SQLAlchemy calls before_commit BEFORE its own final flush, so the flush happens here first:
    otherwise changes still pending at commit would be written without a bump. The bump is then
    the transaction's last statement and the counter row its last lock, so two writers can only
    wait on each other there, never in a cycle. SQLAlchemy also calls this hook when a
    savepoint is released: then nothing happens (the flag waits for the outermost commit), or
    the counter row would be locked in the middle of the transaction.
    """
    if session.in_nested_transaction():
        return
    for _ in range(_FLUSH_LIMIT):
        if not (session.new or session.dirty or session.deleted):
            break
        session.flush()
    if session.info.pop(CHANGED, False):
        # Through the connection: the session's own execute hook would flag it again.
        session.connection().execute(_BUMP, {"key": DATA_KEY})


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Forget the flag when the outermost transaction ends (commit, rollback or close).

    A rolled-back savepoint keeps the flag: the outer transaction may have written before it,
    and a needless bump only costs one rebuilt page.
    """
    if transaction.parent is None:
        session.info.pop(CHANGED, None)


def install(factory: SessionMaker) -> None:
    """Make every session of this factory bump the data version when it commits a change."""
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _do_orm_execute)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_transaction_end", _after_transaction_end)


def mark_changed(session: Session) -> None:
    """Make the session's commit bump the version (for writes it cannot see)."""
    session.info[CHANGED] = True


def current_data_version(session: Session) -> int | None:
    """The data version (None when the counter row is missing: then nothing may be cached)."""
    return session.scalar(select(CacheVersion.version).where(CacheVersion.key == DATA_KEY))


# A stand-in for the CSRF token inside cached HTML: random per process, so no stored text
# (escaped or not) can contain it by accident or design.
CSRF_SENTINEL = "lms-csrf-" + secrets.token_hex(16)


class BoundedCache:
    """A thread-safe least-recently-used mapping holding at most `size` entries."""

    def __init__(self, size: int) -> None:
        """An empty cache of the given capacity (0 keeps nothing)."""
        self.size = size
        self.generation = -1  # the newest data version seen
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def advance(self, generation: int) -> None:
        """Drop every entry when another data version is seen.

        A newer version means no kept entry can be hit again; an older one means the counter
        went back (a restored database): entries kept under the versions it will count up
        through again would describe other data.
        """
        with self._lock:
            if generation != self.generation:
                self.generation = generation
                self._entries.clear()

    def get(self, key: Hashable) -> Any | None:
        """The value kept under key (now the most recently used), or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep value under key, dropping the least recently used entries beyond the size."""
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """How many entries are kept."""
        with self._lock:
            return len(self._entries)

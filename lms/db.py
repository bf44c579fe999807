"""The database engine, one session per request or command, and the declarative Base."""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Result,
    Select,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts
from sqlalchemy.types import TypeDecorator

from lms import prepared
from lms.clock import utcnow  # noqa: F401 - re-exported: the stored timestamps' clock
from lms.errors import DomainError, NotFound
from lms.prepared import Rows

IN_CHUNK = 500  # values bound in one IN list: under every driver's bound-parameter limit

Entity = TypeVar("Entity")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes and normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Attach UTC to values that come back naive."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base whose constraint names follow one stable convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


DEFAULT_TIMEOUT = 5.0  # seconds; LMS_DATABASE_TIMEOUT
# SQLite errors that mean "the database cannot be used just now", not a bug in a query.
SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "unable to open database",
    "disk i/o error",
    "locking protocol",  # WAL index locked by another process past SQLite's own retries
)


def is_unavailable(error: BaseException | None) -> bool:
    """Whether an exception means the database did not answer in time (or at all).

    Such a request answers 503 with Retry-After rather than 500: a lock held too long, a
    statement or lock wait cut short by its timeout, no free pooled connection, a server
    that refuses or drops connections.
    """
    original = getattr(error, "original_exception", None)  # Werkzeug's InternalServerError
    if original is not None:
        error = original
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):  # SQLite also calls "no such table" operational
        return any(marker in str(error.orig).lower() for marker in SQLITE_UNAVAILABLE)
    return True  # PostgreSQL: connection failures, lock_timeout, statement_timeout


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, timeout: float) -> None:
    """Turn on WAL, foreign keys and a bounded busy timeout for every SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READS_FIRST = "lms_reads_first"


def reads_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose request reads (who, what, is the form right) before it writes.

    Its unit of work begins as a read, holding no write lock, until the view calls
    `db.begin_writing()` right before the service that writes. On SQLite the write lock is
    the one thing all writers queue for, so it is then held for the write alone, not for the
    sign-in check, form validation and lookups before it. Put it right under the route
    decorator, so that it marks the function Flask calls.
    """
    setattr(view, READS_FIRST, True)
    return view


def _reading_first() -> bool:
    """Whether this request is still in the read phase of a `reads_first` view."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, READS_FIRST, False) and not g.get("_lms_writing", False)


_BOUNDED = "lms_bounded"  # Connection.info: the session's timeouts are the request bound
_BOUNDING = "lms_bounding"  # ... set in the open transaction, confirmed when it commits


def _postgres_request_timeouts(conn: Any, *, timeout: float) -> None:
    """Bound what a request's transaction may wait for: a lock, and each statement.

    Only requests are bounded: migrations, rebuilds and imports on the command line may
    legitimately run longer than a page should. The bound is a setting of the connection's
    session, changed only when a transaction of the other kind begins on it, so a server's
    requests pay no round trip for it (a SET in a transaction that rolls back is undone, so
    the change counts once its transaction commits).
    """
    bounded = has_request_context()
    if conn.info.get(_BOUNDED, False) == bounded:
        return
    if bounded:
        milliseconds = int(timeout * 1000)
        conn.exec_driver_sql(
            f"SET lock_timeout = {milliseconds}; SET statement_timeout = {milliseconds}"
        )
    else:
        conn.exec_driver_sql("RESET lock_timeout; RESET statement_timeout")
    conn.info[_BOUNDING] = bounded


def _postgres_bound_kept(conn: Any) -> None:
    """After commit: the timeouts set in that transaction now hold for the session."""
    if _BOUNDING in conn.info:
        conn.info[_BOUNDED] = conn.info.pop(_BOUNDING)


def _postgres_bound_undone(conn: Any) -> None:
    """After rollback: timeouts set in that transaction were undone with it."""
    conn.info.pop(_BOUNDING, None)


def _private_sqlite_file(url: str) -> None:
    """Create an SQLite database file owner-only before SQLite does (it would use the umask)."""
    from lms.private_files import create_private_file

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        with contextlib.suppress(OSError):  # unwritable: SQLite says so when it opens it
            create_private_file(path)


def _sqlite_begin(conn: Any) -> None:
    """Begin reads as deferred transactions and writes as IMMEDIATE ones.

    A deferred transaction that reads and then writes cannot wait for a busy writer in WAL
    mode (SQLite answers "database is locked" at once), so anything that may write takes the
    write lock up front; GET requests never write, so they stay concurrent, a `reads_first`
    view reads unlocked until it says it begins writing, and so does a `db.reading()` block.
    """
    reading = has_app_context() and g.get("_lms_reading", False)
    if not reading and has_request_context():
        reading = request.method in {"GET", "HEAD", "OPTIONS"} or _reading_first()
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _batch_sqlite_inserts(engine: Engine) -> None:
    """Let the ORM insert many rows of a table in one statement on SQLite, as on PostgreSQL.

    To give each new object its id, the ORM must match the rows RETURNING gives back to the
    objects; on SQLite it does not trust the order, so it falls back to one INSERT per object
    (a cohort of 200 ran 800 of them). An integer primary key is a reliable sentinel there:
    SQLite numbers the rows of a multi-row VALUES in the order given (each takes the largest
    rowid plus one, inside the one write lock), and with the sentinel set SQLAlchemy sorts the
    returned rows by that key before matching them up. tests/integration/test_batched_inserts.py
    checks every id against its own row on both backends.
    """
    engine.dialect.insertmanyvalues_implicit_sentinel = (
        InsertmanyvaluesSentinelOpts.ANY_AUTOINCREMENT
    )


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """Create an engine for the URL with the pragmas and pool settings each backend wants.

    `timeout` (seconds) bounds every wait a request can meet: a busy SQLite file, a free
    connection from the pool, connecting to PostgreSQL, and a request's locks and statements
    there. Past it the request fails with an error `is_unavailable` recognises (a 503).
    """
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"timeout": timeout, "check_same_thread": False},
            pool_timeout=timeout,
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, timeout=timeout))
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # SELECT ... then UPDATE inside one transaction is really serialised.
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        _batch_sqlite_inserts(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if make_url(url).get_driver_name() == "psycopg":
        from lms.pg_cursor import DescribedOnceCursor

        connect_args["cursor_factory"] = DescribedOnceCursor
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = max(2, math.ceil(timeout))  # libpq's minimum is 2
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args=connect_args,
    )
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", partial(_postgres_request_timeouts, timeout=timeout))
        event.listen(engine, "commit", _postgres_bound_kept)
        event.listen(engine, "rollback", _postgres_bound_undone)
    return engine


class TrackerSession(Session):
    """The tracker's own sessions: what its read model (lms.progress.tracking) listens to.

    A host app that mounts the tracker keeps its own sessions (plain `Session`, or its own
    class): nothing of the tracker watches them.
    """


class Database:
    """Owns the engine and hands out one session per app context (request or CLI command)."""

    def __init__(self) -> None:
        """Start unbound; init_app binds to an application."""
        self.engine: Engine | None = None
        self.factory: sessionmaker[TrackerSession] | None = None

    def init_app(self, app: Flask) -> None:
        """Create the engine for the app and close the session when the context ends."""
        self.engine = make_engine(
            app.config["LMS_DATABASE_URL"],
            float(app.config.get("LMS_DATABASE_TIMEOUT", DEFAULT_TIMEOUT)),
        )
        self.factory = sessionmaker(bind=self.engine, class_=TrackerSession, expire_on_commit=False)
        app.teardown_appcontext(self._teardown)

    @property
    def session(self) -> Session:
        """The session of the current app context, created on first use."""
        lms_db: Database = current_app.extensions["lms"].db
        if "_lms_session" not in g:
            assert lms_db.factory is not None
            g._lms_session = lms_db.factory()
            g._lms_after_commit = []
        return g._lms_session

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback once the current unit of work has committed (dropped on rollback)."""
        self.session  # noqa: B018 - make sure the list exists
        g._lms_after_commit.append(callback)

    def begin_writing(self) -> None:
        """End the read phase of a `reads_first` view: what follows is one write transaction.

        On SQLite the read transaction is closed (it wrote nothing: anything pending is a bug,
        refused) and the next statement begins the write transaction, IMMEDIATE. Objects read
        so far stay loaded; a service re-checks, inside the write, what a racer could change.
        PostgreSQL has no database-wide write lock, so there the one transaction goes on
        (a second one would only cost round trips).
        """
        g._lms_writing = True
        session = self.session
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_writing() after changes were made in the read phase")
        if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
            session.commit()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A short unit of work that only reads, ended (committed) when the block exits.

        Outside a request every SQLite transaction begins IMMEDIATE, holding the write lock
        (a command may read and then write); a job that reads what it will work on and then
        works with no transaction open (rendering PDFs) must not make the web's writers queue
        behind that read. Inside the block the transaction begins deferred; a change made in
        it is refused, as it would need the lock the block did not take.
        """
        session = self.session
        if session.in_transaction():
            raise RuntimeError("db.reading() inside an open unit of work")
        g._lms_reading = True
        try:
            yield session
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("db.reading() block made changes")
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            g._lms_reading = False

    def commit(self) -> None:
        """Commit the current session, then run the after-commit callbacks."""
        if "_lms_session" not in g:
            return
        g._lms_session.commit()
        callbacks, g._lms_after_commit = g._lms_after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a side effect must never undo or hide a committed change
                current_app.logger.exception("after-commit callback failed")

    def rollback(self) -> None:
        """Roll back the current session and forget its after-commit callbacks."""
        if "_lms_session" in g:
            g._lms_session.rollback()
            g._lms_after_commit = []

    def _teardown(self, exc: BaseException | None) -> None:
        """Roll back anything uncommitted and close the session."""
        session = g.pop("_lms_session", None)
        g.pop("_lms_after_commit", None)
        if session is not None:
            session.rollback()
            session.close()


db = Database()


def str_enum(enum_cls: type, name: str) -> SAEnum:
    """A VARCHAR column type for a StrEnum, guarded by a named CHECK constraint."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def cascading_key(table: str) -> Any:
    """A primary-key column holding the id of a row of `table`, deleted with that row (a
    link table's half of its key, or a one-to-one extension of the row)."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True)


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of only the rows matching `where` (SQL), the same on SQLite and PostgreSQL:
    with `unique`, how the schema says "at most one live row" for rows that stay once dead."""
    return Index(
        name,
        *columns,
        unique=unique,
        sqlite_where=text(where),
        postgresql_where=text(where),
    )


def flush_or_refuse(session: Session, refusal: DomainError, *, add: object = None) -> None:
    """Flush (adding `add` first) inside a savepoint: when a unique index refuses the row,
    because a twin request or another person got there first, only the savepoint rolls back
    and `refusal` is raised, so the rest of the unit of work stays usable."""
    try:
        with session.begin_nested():
            if add is not None:
                session.add(add)
            session.flush()
    except sa_exc.IntegrityError as error:
        raise refusal from error


def read(
    session: Session, statement: Select, params: dict[str, Any] | None = None
) -> Rows | Result:
    """Run a prebuilt Core SELECT on the session's connection, past the ORM's machinery.

    For the small per-person reads of the most-viewed pages: the ORM's execute path, and even
    Core's, costs more than the database takes to answer them, so the statement is compiled
    once and run on the driver's cursor (lms.prepared). Pending changes are flushed first, as
    the ORM's autoflush would (unless it is switched off, as in `no_autoflush`), so a read
    inside a unit of work still sees its own writes. The statement must be a module constant
    selecting columns, not entities; rows come back as named tuples (iterate, or `all()`,
    `first()`, `one()`, `scalar()`).
    """
    if session.autoflush and (session.new or session.deleted or session.dirty):
        session.flush()
    return prepared.run(session.connection(), statement, params or {})


def row_or_not_found(
    session: Session, entity: type[Entity], row_id: int, *, missing: str
) -> Entity:
    """The row of `entity` with that id (from the session's identity map when it is there),
    or NotFound(missing)."""
    found = session.get(entity, row_id)
    if found is None:
        raise NotFound(missing)
    return found


def locked_row(session: Session, entity: type[Entity], row_id: int, *, missing: str) -> Entity:
    """One row by id, freshly read and locked for the rest of the transaction, so that two
    people cannot both act on it (FOR UPDATE on PostgreSQL; on SQLite the write transaction
    already holds the database's lock). NotFound(missing) when there is no such row."""
    found = session.scalar(
        select(entity)
        .where(entity.id == row_id)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(missing)
    return found


def scalars_among(
    session: Session, query: Select, column: Any, values: Iterable[Any] | None
) -> list[Any]:
    """The query's scalars; given `values`, only those of rows whose `column` is among them,
    sorted, asked IN_CHUNK values at a time (to stay under bound-parameter limits)."""
    if values is None:
        return list(session.scalars(query))
    wanted = sorted(set(values))
    found: list[Any] = []
    for start in range(0, len(wanted), IN_CHUNK):
        found.extend(session.scalars(query.where(column.in_(wanted[start : start + IN_CHUNK]))))
    return sorted(found)

"""Prebuilt SELECTs run straight on the driver's cursor: compiled once, typed by SQLAlchemy.

The busiest pages run a handful of small prebuilt SELECTs per request (`lms.db.read`). Through
`Connection.execute` each pays SQLAlchemy's per-execution work (the compiled-cache lookup, an
execution context, result metadata, Row objects): about 0.05 ms, a third of such a read's
client time, for a statement that never changes. Here each statement is worked out once per
dialect into its SQL, the order of its parameters and SQLAlchemy's own type processors for
them and for its columns, so values go in and come back exactly as through SQLAlchemy; a read
is then the driver's execute and fetchall. Driver errors are raised as SQLAlchemy raises them
(a timeout is an OperationalError, a dropped connection invalidates it), so callers and the
503 handling see no difference.

A statement's first run in a process goes through `Connection.execute` (it names the columns
as SQLAlchemy's rows do). Statements whose SQL changes per call (IN lists expanded from a
parameter) always do, and so does every read on an engine someone watches: SQL echo, or
listeners on its cursor events (the tests' query counters) see every statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect, Result
from sqlalchemy.sql import Select

PLANS_KEPT = 512  # prebuilt statements are module constants: a few dozen in the whole app


@dataclass
class _Plan:
    """How one statement runs on one dialect's cursor."""

    sql: str
    names: tuple[str, ...] | None  # parameter names in order (positional styles), else None
    defaults: dict[str, Any]  # values the statement carries itself (literals)
    required: frozenset[str]  # parameters each call must give
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # (name, SQLAlchemy's bind processor)
    types: tuple[Any, ...]  # each column's SQLAlchemy type, in order
    row: type  # a named tuple with SQLAlchemy's column keys
    # SQLAlchemy's result processor for each column that has one; a processor may depend on
    # the type code the driver reports, so they are worked out on the first run here.
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = field(default=None)


_plans: dict[tuple[Any, str, str], _Plan | None] = {}


class Rows:
    """A read's rows, with the parts of SQLAlchemy's Result the app uses."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        """Wrap fetched, processed rows."""
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        """Each row, in order."""
        return iter(self._rows)

    def all(self) -> list[Any]:
        """Every row."""
        return self._rows

    def first(self) -> Any | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        """The only row, or None; more than one is an error, as in SQLAlchemy."""
        if len(self._rows) > 1:
            raise sa_exc.MultipleResultsFound(
                "Multiple rows were found when one or none was required"
            )
        return self.first()

    def one(self) -> Any:
        """The only row; none or more than one is an error, as in SQLAlchemy."""
        if not self._rows:
            raise sa_exc.NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalar(self) -> Any | None:
        """The first column of the first row, or None."""
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row."""
        return self.one()[0]


def _watched(connection: Connection) -> bool:
    """Whether someone observes the engine's statements: SQL echo, or listeners on its
    execute or cursor events, or on the dialect's error handling."""
    dispatch = connection.dispatch
    return bool(
        connection.engine.echo
        or dispatch.before_execute
        or dispatch.after_execute
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.dialect.dispatch.handle_error
    )


def _plan(statement: Select, dialect: Dialect, keys: Sequence[str]) -> _Plan | None:
    """Compile the statement for the dialect; None when it cannot run as compiled."""
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None  # its SQL is finished per call (an IN list from a parameter)
    binds = compiled.binds
    names = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    processors = []
    defaults, required = {}, set()
    for name, bind in binds.items():
        if bind.required:
            required.add(name)
        else:
            defaults[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    return _Plan(
        sql=str(compiled),
        names=names,
        defaults=defaults,
        required=frozenset(required),
        binds=tuple(processors),
        types=tuple(column.type for column in statement.selected_columns),
        row=namedtuple("Row", keys, rename=True),  # noqa: PYI024 - built from the statement
    )


def _result_processors(plan: _Plan, dialect: Dialect, description: Any) -> tuple:
    """SQLAlchemy's result processor of each column, for the type codes the driver reported."""
    found = []
    for index, (type_, column) in enumerate(zip(plan.types, description, strict=True)):
        process = type_.dialect_impl(dialect).result_processor(dialect, column[1])
        if process is not None:
            found.append((index, process))
    return tuple(found)


def _raise_as_sqlalchemy(
    connection: Connection, plan: _Plan, parameters: Any, error: Exception, cursor: Any
) -> None:
    """Raise a driver error as SQLAlchemy would: wrapped, the connection invalidated when the
    error says it is gone."""
    dialect = connection.dialect
    gone = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if gone:
        connection.invalidate(error)
    raise sa_exc.DBAPIError.instance(
        plan.sql,
        parameters,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        dialect=dialect,
        connection_invalidated=gone,
    ) from error


def run(connection: Connection, statement: Select, params: dict[str, Any]) -> Rows | Result:
    """Run a prebuilt SELECT on the connection (see the module's note on when it is direct)."""
    if _watched(connection):
        return connection.execute(statement, params)
    dialect = connection.dialect
    key = (statement, dialect.name, dialect.paramstyle)
    plan = _plans.get(key)
    if plan is None:
        if key in _plans:  # cannot run as compiled
            return connection.execute(statement, params)
        result = connection.execute(statement, params)
        if len(_plans) >= PLANS_KEPT:
            _plans.clear()
        _plans[key] = _plan(statement, dialect, list(result.keys()))
        return result
    if plan.required - params.keys():
        missing = sorted(plan.required - params.keys())
        raise sa_exc.InvalidRequestError(f"A value is required for bind parameter {missing[0]!r}")
    values = {**plan.defaults, **params}
    for name, process in plan.binds:
        values[name] = process(values[name])
    parameters = values if plan.names is None else [values[name] for name in plan.names]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(plan.sql, parameters)
        fetched = cursor.fetchall()
        if plan.results is None:
            plan.results = _result_processors(plan, dialect, cursor.description)
    except dialect.loaded_dbapi.Error as error:
        _raise_as_sqlalchemy(connection, plan, parameters, error, cursor)
    finally:
        cursor.close()
    make = plan.row._make
    if not plan.results:
        return Rows([make(row) for row in fetched])
    processed = []
    for row in fetched:
        values_of_row = list(row)
        for index, process in plan.results:
            values_of_row[index] = process(values_of_row[index])
        processed.append(make(values_of_row))
    return Rows(processed)

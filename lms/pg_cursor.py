"""The psycopg cursor the tracker's engine uses: one that describes each result shape once.

psycopg builds a new `Column` object for every column each time `cursor.description` is read,
and SQLAlchemy reads it after every statement, even once it has the statement's result layout
cached and only needs to know that rows came back. For the 10 to 15 columns of the busiest
pages' reads that cost more than decoding their rows. A description depends only on the
result's fields (names, types, modifiers, sizes) and the connection's encoding, so each
distinct shape is described once per process and shared: a `Column` keeps no reference to
the cursor that made it. The engine passes this class as psycopg's `cursor_factory`, the
hook SQLAlchemy documents for choosing the cursor class.
"""

from __future__ import annotations

from psycopg import Column, Cursor
from psycopg.pq import ExecStatus

# Statuses of a result that carries rows even when it has no field ("SELECT;"), as psycopg says.
_ROW_STATUSES = frozenset(
    status
    for status in (
        getattr(ExecStatus, name, None) for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    )
    if status is not None
)
SHAPES_KEPT = 4096  # distinct result shapes remembered; the app has a few hundred statements

_described: dict[tuple[object, ...], tuple[Column, ...]] = {}


class DescribedOnceCursor(Cursor):
    """psycopg's client-side cursor, with `description` built once per result shape.

    Every connection of the process has psycopg's default adapters, so a shape's columns
    are the same whichever connection met it first.
    """

    @property
    def description(self) -> list[Column] | None:
        """The columns of the current result, as psycopg describes them (None without one)."""
        result = self.pgresult
        if result is None:
            return None
        count = result.nfields
        if not count and result.status not in _ROW_STATUSES:
            return None
        shape = (
            self.connection.info.encoding,
            *(
                (result.fname(i), result.ftype(i), result.fmod(i), result.fsize(i))
                for i in range(count)
            ),
        )
        columns = _described.get(shape)
        if columns is None:
            if len(_described) >= SHAPES_KEPT:
                _described.clear()
            columns = _described[shape] = tuple(Column(self, i) for i in range(count))
        return list(columns)

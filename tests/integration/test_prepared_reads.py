"""Prebuilt reads run on the driver's cursor (lms.prepared) return exactly what SQLAlchemy
returns: the same rows, values of the same types, the same column names; and they fall back
to SQLAlchemy where they must."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from certificates_support import record
from sqlalchemy import bindparam, exc, func, literal, select

from lms import prepared
from lms.auth.models import Role
from lms.certificates.lookup import _OWN_CERTIFICATES, _OWN_LINKS
from lms.clock import today
from lms.db import db, read
from lms.mail.services import _UNREAD
from lms.progress.dashboard import _HISTORY
from lms.progress.facts import _CATALOGUE_STAMP, _CLINICIANS_AMONG
from lms.progress.models import Completion, Standing
from lms.progress.tracking import _ROWS_OF, _ROWS_ON
from lms.retreats.own_retreats import _OWN_APPLICATIONS

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")

# Every column type the app reads: dates, UTC timestamps, enums, JSON, numbers, booleans.
_TYPED = select(
    Completion.id,
    Completion.completed_on,
    Completion.recorded_at,
    Completion.source,
    Completion.ce_hours,
    Completion.revoked_at,
    Standing.met,
    Standing.steps,
    Standing.outline,
    literal("a literal").label("said"),
).where(
    Completion.user_id == bindparam("user_id"),
    Completion.completed_on >= bindparam("since"),  # a date parameter (a string on SQLite)
    Standing.user_id == Completion.user_id,
    Standing.item_id == Completion.item_id,
)


@pytest.fixture
def person(session, catalog, make_user):
    """A clinician with two completions (one revoked), a certificate and locked items."""
    clinician = make_user(Role.CLINICIAN)
    record(session, clinician.id, "M1", on=date(2025, 3, 14))
    second = record(session, clinician.id, "HTH", on=date(2025, 4, 2))
    second.revoked_at = second.recorded_at + timedelta(days=1)
    second.revoke_reason = "Wrong person"
    db.commit()
    return clinician


def _compare(connection, statement, params) -> None:
    """The direct read and SQLAlchemy's give equal rows, values of equal types, equal keys."""
    expected = connection.execute(statement, params)
    keys, rows = list(expected.keys()), expected.all()
    prepared.run(connection, statement, params)  # a first run plans the statement
    direct = prepared.run(connection, statement, params)
    assert isinstance(direct, prepared.Rows), "the second run goes straight to the cursor"
    got = direct.all()
    assert got == rows
    for mine, theirs in zip(got, rows, strict=True):
        assert list(mine._fields) == keys
        assert [type(v) for v in mine] == [type(v) for v in theirs]


def test_every_dashboard_read_returns_what_sqlalchemy_returns(session, person) -> None:
    """The dashboard's statements, on both backends."""
    connection = session.connection()
    on = today(session)
    for statement, params in (
        (_ROWS_ON, {"user_id": person.id, "day": on}),
        (_ROWS_ON, {"user_id": person.id, "day": on + timedelta(days=4000)}),
        (_ROWS_OF, {"user_id": person.id}),
        (_HISTORY, {"user_id": person.id}),
        (_CATALOGUE_STAMP, {}),
        (_OWN_LINKS, {"user_id": person.id}),
        (_OWN_CERTIFICATES, {"user_id": person.id}),
        (_UNREAD, {"user_id": person.id}),
        (_OWN_APPLICATIONS, {"user_id": person.id}),
        (_TYPED, {"user_id": person.id, "since": date(2025, 1, 1)}),
    ):
        _compare(connection, statement, params)


def test_values_keep_their_python_types(session, person) -> None:
    """Dates are dates, timestamps are aware UTC datetimes, enums their members, JSON parsed."""
    connection = session.connection()
    params = {"user_id": person.id, "since": date(2025, 4, 1)}
    prepared.run(connection, _TYPED, params)
    (row,) = prepared.run(connection, _TYPED, params).all()
    assert row.completed_on == date(2025, 4, 2)
    assert row.recorded_at.tzinfo is not None and row.revoked_at > row.recorded_at
    assert row.source.value == "instructor" and isinstance(row.met, bool)
    assert isinstance(row.steps, list) and row.said == "a literal"


def test_a_missing_parameter_is_refused_as_sqlalchemy_refuses_it(session, person) -> None:
    """A call without a required parameter raises before anything is sent."""
    connection = session.connection()
    prepared.run(connection, _OWN_LINKS, {"user_id": person.id})
    with pytest.raises(exc.InvalidRequestError, match="user_id"):
        prepared.run(connection, _OWN_LINKS, {})


def test_a_statement_whose_sql_changes_per_call_goes_through_sqlalchemy(session, person) -> None:
    """An IN list expanded from a parameter is SQLAlchemy's to finish, every time."""
    for _ in range(3):
        found = read(session, _CLINICIANS_AMONG, {"ids": [person.id, person.id + 999]})
        assert not isinstance(found, prepared.Rows)
        assert [row.id for row in found] == [person.id]


def test_a_watched_engine_sees_every_read(session, person, engine, count_queries) -> None:
    """With a cursor-event listener (the tests' query counters, SQL echo) reads go through
    SQLAlchemy, so every statement is seen."""
    with count_queries() as statements:
        for _ in range(3):
            assert read(session, _OWN_LINKS, {"user_id": person.id}).all()
    assert len([s for s in statements if "FROM certificates" in s]) == 3


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(session) -> None:
    """A statement the database refuses raises SQLAlchemy's wrapped error (what the 503
    handling and the logs read), not the driver's own."""
    if BACKEND == "sqlite":
        failing = select(func.json_extract(bindparam("doc"), "$.a"))
    else:
        failing = select(literal(1) / bindparam("by"))
    good, bad = (
        ({"doc": '{"a": 1}'}, {"doc": "not json"})
        if BACKEND == "sqlite"
        else (
            {"by": 1},
            {"by": 0},
        )
    )
    connection = session.connection()
    prepared.run(connection, failing, good)
    assert isinstance(prepared.run(connection, failing, good), prepared.Rows)
    with pytest.raises(exc.DBAPIError) as raised:
        prepared.run(connection, failing, bad)
    assert raised.value.orig is not None and not raised.value.connection_invalidated


def test_rows_answer_as_sqlalchemys_results_do() -> None:
    """first, one, one_or_none, scalar and scalar_one keep SQLAlchemy's meaning and errors."""
    none, one, two = prepared.Rows([]), prepared.Rows([(1, "a")]), prepared.Rows([(1,), (2,)])
    assert none.first() is None and none.scalar() is None and none.one_or_none() is None
    assert one.one() == (1, "a") and one.scalar_one() == 1 and list(one) == [(1, "a")]
    assert two.first() == (1,) and two.scalar() == 1
    with pytest.raises(exc.NoResultFound):
        none.one()
    with pytest.raises(exc.MultipleResultsFound):
        two.one()
    with pytest.raises(exc.MultipleResultsFound):
        two.one_or_none()

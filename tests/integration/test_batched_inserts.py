"""Many new rows of a table go in with one INSERT, and every object gets its own row's id.

lms/db.py lets the ORM batch inserts on SQLite too (the integer primary key as sentinel); a
wrong match would give one person's certificate another person's id, so each id is checked
against the row it names, on both backends, after rows were deleted in between.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.clock import today
from lms.progress.cohorts import record_cohort
from lms.progress.models import Completion


def _events(count: int, first_subject: int) -> list[AuditEvent]:
    """New audit events whose subject ids tell them apart."""
    return [
        AuditEvent(action="test.batch", subject_type="test", subject_id=first_subject + n)
        for n in range(count)
    ]


def test_one_flush_of_many_objects_is_one_insert_and_each_gets_its_own_rows_id(
    session, engine, count_queries
) -> None:
    """300 events in one flush: one statement, and each object's id reads back its own row."""
    session.add_all(_events(5, 0))
    session.flush()
    session.execute(delete(AuditEvent).where(AuditEvent.subject_id.in_([1, 3])))  # gaps
    events = _events(300, 1000)
    with count_queries(starting="INSERT INTO audit_events ") as statements:
        session.add_all(events)
        session.flush()
    assert len(statements) == 1
    stored = dict(
        session.execute(
            select(AuditEvent.id, AuditEvent.subject_id).where(AuditEvent.action == "test.batch")
        ).all()
    )
    assert all(stored[event.id] == event.subject_id for event in events)
    assert len({event.id for event in events}) == 300


def test_a_cohorts_completions_and_certificates_belong_to_the_right_people(
    session, engine, make_user, catalog, count_queries
) -> None:
    """A cohort of 60: one INSERT per table, each certificate names its own completion and
    person, and each completion its own person."""
    people = [make_user(Role.CLINICIAN) for _ in range(60)]
    with (
        count_queries(starting="INSERT INTO completions ") as completions,
        count_queries(starting="INSERT INTO certificates ") as certificates,
    ):
        result = record_cohort(
            session,
            user_ids=[person.id for person in people],
            item_code="M1",
            completed_on=today() - timedelta(days=1),
            actor_id=None,
        )
        session.flush()
    assert len(completions) == len(certificates) == 1
    assert len(result.created) == 60
    owners = dict(session.execute(select(Completion.id, Completion.user_id)).all())
    assert all(owners[entry.completion_id] == entry.user_id for entry in result.created)
    for certificate in session.scalars(select(Certificate)):
        assert owners[certificate.completion_id] == certificate.user_id
        assert certificate.serial.endswith(f"{certificate.id:06d}")
        assert certificate.content["holder_name"] == _name(people, certificate.user_id)


def _name(people, user_id: int) -> str:
    """The name of the person with that id."""
    return next(person.name for person in people if person.id == user_id)

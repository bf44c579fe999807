"""An offering's "ended, to be closed" and "attendance open" are one expression each: the SQL
that lists filter with answers what the Python pages and guards ask, day by day."""

from __future__ import annotations

from datetime import timedelta

from clock_support import programme_today
from offerings_support import add_offering
from sqlalchemy import select

from lms.auth.models import Role
from lms.offerings.models import (
    LIVE_PLACE,
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingStatus,
    holds_live_place,
)


def test_to_close_and_attendance_open_read_alike_in_sql_and_python(session, make_user, catalog):
    admin = make_user(Role.ADMIN)
    runs = []
    stored = (OfferingStatus.SCHEDULED, OfferingStatus.CLOSED, OfferingStatus.CANCELLED)
    for code, status in zip(("M2", "M3", "M4"), stored, strict=True):
        for starts_in in (-6, -3, -1, 0, 2):
            run = add_offering(session, admin.id, code, starts_in=starts_in, days=2)
            run.status = status
            runs.append(run)
    session.commit()
    ids = [run.id for run in runs]  # the catalogue's own sessions stay out of it
    base = programme_today()
    seen = set()
    for shift in range(-8, 6):
        today = base + timedelta(days=shift)
        for rule in ("to_close", "attendance_open"):
            matches = select(Offering.id).where(
                getattr(Offering, rule)(today), Offering.id.in_(ids)
            )
            in_sql = set(session.scalars(matches))
            in_python = {run.id for run in runs if getattr(run, rule)(today)}
            assert in_sql == in_python, (rule, today)
            seen.add((rule, bool(in_sql)))
        for run in runs:  # the same as the status people read
            assert run.to_close(today) == (run.state(today) is OfferingStatus.ENDED)
            assert run.attendance_open(today) == (
                run.status == OfferingStatus.SCHEDULED and today >= run.ends_on
            )
    assert seen == {
        (rule, found) for rule in ("to_close", "attendance_open") for found in (True, False)
    }


def test_a_live_place_reads_alike_in_sql_and_python(session, make_user, catalog):
    """LIVE_PLACE (the queue's, the counts' and a revised decision's WHERE) answers as
    holds_live_place does, for every enrolment status in every stored offering status."""
    admin = make_user(Role.ADMIN)
    expected = {}
    stored = (OfferingStatus.SCHEDULED, OfferingStatus.CLOSED, OfferingStatus.CANCELLED)
    for code, status in zip(("M2", "M3", "M4"), stored, strict=True):
        run = add_offering(session, admin.id, code)
        run.status = status
        for place in EnrolmentStatus:
            enrolment = Enrolment(user_id=make_user().id, offering_id=run.id, status=place)
            session.add(enrolment)
            session.flush()
            expected[enrolment.id] = holds_live_place(place, status)
    session.commit()
    live = set(session.scalars(select(Enrolment.id).where(LIVE_PLACE, Enrolment.id.in_(expected))))
    assert live == {i for i, is_live in expected.items() if is_live}
    assert set(expected.values()) == {True, False}

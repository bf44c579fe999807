"""When an offering is still to come, has started or has ended, and whether someone may still
join it, is one rule (Offering.state, Offering.refusal_to_join): every list that filters in
SQL asks its twin (Offering.upcoming, started, ended), and every list and page agrees with the
rule on every day, the first day and the deadline's included."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest
from sqlalchemy import select

from lms.catalog.services import upcoming_sessions
from lms.offerings import home
from lms.offerings.days import every_day, new_offering
from lms.offerings.listing import upcoming_offerings
from lms.offerings.models import JoinRefusal, Offering, OfferingStatus

BASE = date(2030, 3, 10)  # after every offering the test catalogue's file brings
# Every day from well before the first offering starts to well after the last one ends.
DAYS = [BASE + timedelta(days=n) for n in range(-6, 12)]


@pytest.fixture
def offerings(session, catalog):
    """Module 1 offerings of every stored status: one-day and three-day runs starting on
    BASE, BASE+2 and BASE+4, with no deadline, a deadline three days ahead of the start, or a
    deadline on the first day itself."""
    item = catalog["M1"]
    made = []
    statuses = (OfferingStatus.SCHEDULED, OfferingStatus.CLOSED, OfferingStatus.CANCELLED)
    for n, (status, start, length, deadline) in enumerate(
        product(statuses, (0, 2, 4), (1, 3), (None, -3, 0))
    ):
        first = BASE + timedelta(days=start)
        made.append(
            new_offering(
                item.id,
                every_day(first, first + timedelta(days=length - 1)),
                location=f"Hall {n}",
                capacity=10,
                status=status,
                enrolment_deadline=first + timedelta(days=deadline)
                if deadline is not None
                else None,
            )
        )
    session.add_all(made)
    session.commit()
    return made


def _ids(session, condition) -> set[int]:
    """The offerings the SQL condition selects."""
    return set(session.scalars(select(Offering.id).where(condition)))


def every_offering(session) -> list[Offering]:
    """These and the catalogue file's own offerings."""
    return list(session.scalars(select(Offering)))


def test_the_sql_twins_select_what_the_python_rule_says_on_every_day(session, offerings):
    offerings = every_offering(session)
    for today in [*DAYS, date(2024, 9, 4), date(2027, 2, 6), date(2027, 2, 7)]:
        for name in ("upcoming", "started", "ended"):
            said = {o.id for o in offerings if getattr(o, name)(today)}
            assert _ids(session, getattr(Offering, name)(today)) == said, (name, today)
        assert {o.id for o in offerings if o.upcoming(today)} == {
            o.id for o in offerings if o.state(today) is OfferingStatus.SCHEDULED
        }


def test_every_list_of_dates_to_come_agrees_with_the_offerings_state_and_who_may_join(
    session, offerings
):
    offerings = every_offering(session)
    by_id = {o.id: o for o in offerings}
    for today in DAYS:
        to_come = {o.id for o in offerings if o.state(today) is OfferingStatus.SCHEDULED}
        soonest = sorted(to_come, key=lambda i: (by_id[i].starts_on, i))[: home.UPCOMING_SHOWN]
        # The clinicians' list, with whether each can still be joined.
        listed = upcoming_offerings(session, today=today)
        assert {s.offering.id for s in listed} == to_come, today
        for summary in listed:
            assert summary.refusal is by_id[summary.offering.id].refusal_to_join(today)
        # The programme page's upcoming dates.
        sessions = [v for views in upcoming_sessions(session, on=today).values() for v in views]
        assert {v.id for v in sessions} == to_come, today
        for view in sessions:
            assert view.joining_closed is (by_id[view.id].refusal_to_join(today) is not None)
        # The staff home's next offerings.
        assert [u.id for u in home.upcoming(session, today)] == soonest, today


def test_on_its_first_day_an_offering_has_started_everywhere(session, offerings):
    first_day = BASE + timedelta(days=2)
    starting = [o for o in offerings if o.starts_on == first_day and o.active]
    assert starting and all(o.refusal_to_join(first_day) is not None for o in starting)
    ids = {o.id for o in starting}
    assert not ids & {s.offering.id for s in upcoming_offerings(session, today=first_day)}
    on_programme = upcoming_sessions(session, on=first_day).get(starting[0].item_id, [])
    assert not ids & {v.id for v in on_programme}
    assert not ids & {u.id for u in home.upcoming(session, first_day)}


def test_a_passed_deadline_reads_closed_in_the_list_until_the_first_day(session, offerings):
    run = next(
        o
        for o in offerings
        if o.status is OfferingStatus.SCHEDULED
        and o.starts_on == BASE + timedelta(days=4)
        and o.enrolment_deadline == o.starts_on - timedelta(days=3)
        and o.ends_on == o.starts_on
    )
    for today, refusal in (
        (run.enrolment_deadline, None),
        (run.enrolment_deadline + timedelta(days=1), JoinRefusal.DEADLINE_PASSED),
        (run.starts_on - timedelta(days=1), JoinRefusal.DEADLINE_PASSED),
    ):
        (summary,) = [
            s for s in upcoming_offerings(session, today=today) if s.offering.id == run.id
        ]
        assert summary.refusal is refusal, today

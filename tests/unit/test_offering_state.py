"""How an offering's status reads on a given day (only three statuses are ever stored)."""

from datetime import date

import pytest

from lms.offerings.models import JoinRefusal, Offering, OfferingStatus

FIRST, LAST = date(2026, 3, 10), date(2026, 3, 12)


def offering(status: OfferingStatus = OfferingStatus.SCHEDULED) -> Offering:
    return Offering(status=status, starts_on=FIRST, ends_on=LAST)


@pytest.mark.parametrize(
    ("today", "reads"),
    [
        (date(2026, 3, 9), OfferingStatus.SCHEDULED),
        (FIRST, OfferingStatus.IN_PROGRESS),
        (LAST, OfferingStatus.IN_PROGRESS),
        (date(2026, 3, 13), OfferingStatus.ENDED),
        (date(2027, 1, 1), OfferingStatus.ENDED),
    ],
)
def test_a_scheduled_offering_reads_by_its_dates(today, reads):
    assert offering().state(today) is reads


@pytest.mark.parametrize("stored", [OfferingStatus.CLOSED, OfferingStatus.CANCELLED])
def test_closed_and_cancelled_read_as_stored_whatever_the_day(stored):
    for today in (date(2026, 3, 1), FIRST, date(2026, 4, 1)):
        assert offering(stored).state(today) is stored


def test_ended_says_it_waits_for_closing():
    assert OfferingStatus.ENDED.label == "Ended, to be closed"
    assert OfferingStatus.ENDED.badge == "warn"


@pytest.mark.parametrize(
    ("today", "deadline", "by_staff", "refusal"),
    [
        (date(2026, 3, 8), None, False, None),
        (date(2026, 3, 9), None, False, None),  # the eve of the first day is the last day
        (date(2026, 3, 9), date(2026, 3, 1), False, JoinRefusal.DEADLINE_PASSED),
        (date(2026, 3, 9), date(2026, 3, 1), True, None),  # staff: a late registration
        (date(2026, 3, 1), date(2026, 3, 1), False, None),  # the deadline day itself counts
        (FIRST, None, False, JoinRefusal.STARTED),
        (FIRST, None, True, None),  # staff: a walk-in on the first day
        (date(2026, 4, 1), None, True, None),  # staff: ended, not yet closed (recorded late)
        (date(2026, 4, 1), None, False, JoinRefusal.STARTED),
    ],
)
def test_who_may_join_a_scheduled_offering_on_a_day(today, deadline, by_staff, refusal):
    run = offering()
    run.enrolment_deadline = deadline
    assert run.refusal_to_join(today, by_staff=by_staff) is refusal


@pytest.mark.parametrize(
    ("stored", "refusal"),
    [
        (OfferingStatus.CANCELLED, JoinRefusal.CANCELLED),
        (OfferingStatus.CLOSED, JoinRefusal.CLOSED),
    ],
)
def test_nobody_joins_a_cancelled_or_closed_offering(stored, refusal):
    assert offering(stored).refusal_to_join(date(2026, 1, 1), by_staff=True) is refusal

"""How an offering's status reads on a given day (only three statuses are ever stored)."""

from datetime import date

import pytest

from lms.catalog.models import Offering, OfferingStatus

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

"""The standings read the facts of features above progress only through registered sources."""

from __future__ import annotations

from lms.catalog.models import ItemKind
from lms.features import FACT_SOURCE_MODULES
from lms.offerings.models import EnrolmentStatus, OfferingStatus, holds_live_place
from lms.progress.fact_sources import place_reader, sources
from lms.progress.models import ItemState
from lms.retreats.standing_facts import RetreatState


def test_every_listed_module_registers_a_source() -> None:
    assert len(FACT_SOURCE_MODULES) == len(sources()) == 2
    assert {s.name for s in sources()} == {"credits", "applications"}


def test_a_retreat_reads_as_its_state_and_a_module_as_its_enrolment() -> None:
    retreat = place_reader(ItemKind.RETREAT)
    module = place_reader(ItemKind.CORE_MODULE)
    assert retreat is not None and module is not None
    assert retreat(ItemState.COMPLETED, True, "enrolled") == RetreatState.ATTENDED
    assert retreat(ItemState.LOCKED, False, "not_cleared") == RetreatState.NOT_CLEARED
    assert retreat(ItemState.AVAILABLE, True, None) == RetreatState.OPEN
    assert retreat(ItemState.LOCKED, False, None) == RetreatState.LOCKED
    assert module(ItemState.AVAILABLE, True, "waitlisted") == EnrolmentStatus.WAITLISTED
    assert module(ItemState.AVAILABLE, True, None) is None


def test_a_credited_retreat_reads_credited_whatever_its_rule_or_an_application_says() -> None:
    retreat = place_reader(ItemKind.RETREAT)
    assert retreat is not None
    assert retreat(ItemState.CREDITED, True, None) == RetreatState.CREDITED
    assert retreat(ItemState.CREDITED, False, None) == RetreatState.CREDITED
    assert retreat(ItemState.CREDITED, True, "waitlisted") == RetreatState.CREDITED
    assert RetreatState.CREDITED.label == ItemState.CREDITED.label


def test_a_place_is_live_until_withdrawn_or_its_offering_closes_or_is_cancelled() -> None:
    running = (OfferingStatus.SCHEDULED,)
    over = (OfferingStatus.CLOSED, OfferingStatus.CANCELLED)
    for status in EnrolmentStatus:
        withdrawn = status == EnrolmentStatus.WITHDRAWN
        for offering in running:
            assert holds_live_place(status, offering) is not withdrawn
        settled = status in (EnrolmentStatus.ATTENDED, EnrolmentStatus.ABSENT)
        for offering in over:
            assert holds_live_place(status, offering) is settled, (status, offering)
    # As the database returns them: plain strings.
    assert holds_live_place("waitlisted", "closed") is False
    assert holds_live_place("waitlisted", "scheduled") is True

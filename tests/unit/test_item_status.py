"""One item's status as the dashboard shows it, from its standing row (or the lack of one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lms.catalog.models import ItemKind
from lms.progress.models import ItemState
from lms.progress.standings import RowValues, Verdict
from lms.progress.statuses import item_status
from lms.retreats.standing_facts import RetreatState

DAY = date(2026, 12, 4)


@dataclass(frozen=True)
class Item:
    """A catalogue item as item_status reads it."""

    code: str
    title: str
    kind: ItemKind
    short_title: str = ""
    description: str = "About it."
    format: str = "Online"
    ce_hours: Decimal | None = Decimal(8)


def test_an_item_without_a_row_is_locked_and_says_nothing_more():
    for kind in (ItemKind.CORE_MODULE, ItemKind.RETREAT):
        status = item_status(Item("X", "Something", kind), None, DAY, gate="g1")
        assert status.state == ItemState.LOCKED
        assert (status.explanation, status.steps, status.outline) == ("", (), None)
        assert (status.completed_on, status.completion_id, status.applied) == (None, None, False)
        assert status.ce_hours == Decimal(8) and status.gate == "g1"
        # what every reader of a retreat's status takes a missing one for
        assert status.place == (RetreatState.LOCKED if kind == ItemKind.RETREAT else None)


def test_a_completed_item_shows_what_its_own_completion_is_worth():
    values = RowValues(Verdict(ItemState.COMPLETED, met=True), completed_on=DAY, completion_id=7)
    item = Item("M1", "Module 1: Foundations", ItemKind.CORE_MODULE, short_title="Module 1")
    status = item_status(item, values, DAY, worth=Decimal("4.5"))
    assert (status.state, status.ce_hours, status.completion_id) == (
        ItemState.COMPLETED,
        Decimal("4.5"),
        7,
    )
    assert (status.name, status.rest) == ("Module 1", ": Foundations")


def test_a_locked_items_explanation_is_shown_only_while_it_is_locked():
    why = Verdict(ItemState.LOCKED, met=False, explanation="Complete Module 1", steps=("M1",))
    locked = item_status(Item("M2", "Module 2", ItemKind.CORE_MODULE), RowValues(why), DAY)
    assert (locked.explanation, locked.steps) == ("Complete Module 1", ("M1",))
    open_now = Verdict(ItemState.AVAILABLE, met=True, explanation="stale", steps=("M1",))
    shown = item_status(Item("M2", "Module 2", ItemKind.CORE_MODULE), RowValues(open_now), DAY)
    assert (shown.state, shown.explanation, shown.steps) == (ItemState.AVAILABLE, "", ())

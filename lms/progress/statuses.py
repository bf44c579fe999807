"""One catalogue item as one clinician sees it, from their standing row, and the explanations
locked modules share (shown once for all of them).

The dashboard, the clinician record, the roster and the pathway picture build their items
here, so an item reads the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lms.catalog.api import ItemKind, compact_names
from lms.progress.fact_sources import place_reader
from lms.progress.facts import Programme
from lms.progress.models import ItemState
from lms.progress.standings import RowValues, Verdict
from lms.status import Status


@dataclass(frozen=True)
class ItemStatus:
    """One catalogue item as one clinician sees it."""

    code: str
    title: str
    kind: ItemKind
    description: str
    format: str
    ce_hours: Decimal | None
    state: ItemState
    completed_on: date | None = None
    completion_id: int | None = None
    explanation: str = ""
    steps: tuple[str, ...] = ()
    outline: Mapping[str, Any] | None = None  # the explanation as a list (Outline's JSON form)
    name: str = ""  # the short name rules and the pathway use ("Module 2")
    rest: str = ""  # the title after the short name that begins it (" — Intermediate ...")
    aka: str = ""  # the short name when the title does not contain it ("Ethics Module")
    gate: str = ""  # the anchor of the note that explains this lock with others' (see gates)
    recommendation: str = ""
    pending_equivalency: str = ""  # the outside programme of a request awaiting approval
    applied: bool = False  # the person holds an application or enrolment (not withdrawn)
    # The person's place with the item, as the feature owning its applications words it
    # (lms.progress.fact_sources): a retreat's state (attended, applied, open or locked), a
    # module's most advanced live enrolment; None when there is nothing to say.
    place: Status | None = None

    @property
    def is_open(self) -> bool:
        """Completed, credited or available: nothing in the way."""
        return self.state != ItemState.LOCKED


@dataclass(frozen=True)
class Gate:
    """One explanation shared by several locked modules, shown once for all of them."""

    anchor: str  # the id of the note on the page ("gate-1")
    explanation: str
    outline: Mapping[str, Any] | None  # Outline's JSON form
    names: tuple[str, ...]  # the modules it keeps locked, by their short names


def locked_together(
    catalogue: Programme, rows: Mapping[int, RowValues], on: date
) -> tuple[dict[str, str], list[Gate]]:
    """Locked modules that share one explanation point at one note instead of repeating it:
    the note's anchor of each such module (by code), and the notes in programme order.

    "Complete Module 1, or have an equivalent ... approved" locks ten modules for a newcomer:
    the page says it once, and each of those rows says only that it is locked and where why.
    """
    sharing: dict[str, list[tuple[Any, Verdict]]] = {}
    for item in catalogue.items:
        values = rows.get(item.id)
        if item.kind == ItemKind.RETREAT or values is None:
            continue
        verdict = values.on(on)
        if verdict.state == ItemState.LOCKED and verdict.explanation:
            sharing.setdefault(verdict.explanation, []).append((item, verdict))
    gates: list[Gate] = []
    anchors: dict[str, str] = {}
    for explanation, locked in sharing.items():
        if len(locked) < 2:
            continue
        anchor = f"gate-{len(gates) + 1}"
        names = tuple(compact_names(_names_of(catalogue, item)[0] for item, _ in locked))
        gates.append(Gate(anchor, explanation, locked[0][1].outline, names))
        anchors.update((item.code, anchor) for item, _ in locked)
    return anchors, gates


def _names(item: Any) -> tuple[str, str, str]:
    """How a row names an item: its short name, and the rest of its title or the short name
    as an aside (pages show the short name alone on a phone)."""
    name = item.short_title or item.title
    starts = name != item.title and item.title.startswith(name)
    return name, item.title[len(name) :] if starts else "", name if name not in item.title else ""


def _names_of(catalogue: Programme | None, item: Any) -> tuple[str, str, str]:
    """The item's names, worked out once per catalogue version (kept with the catalogue)."""
    if catalogue is None:
        return _names(item)
    known = catalogue.memo.get("names")
    if known is None:
        known = catalogue.memo["names"] = {i.code: _names(i) for i in catalogue.items}
    return known.get(item.code) or _names(item)


# An item with no standing row (yet) shows as locked, with nothing more said.
_NO_ROW = RowValues(Verdict(ItemState.LOCKED, met=False))


def item_status(
    item: Any,
    values: RowValues | None,
    on: date,
    *,
    worth: Decimal | None = None,
    gate: str = "",
    catalogue: Programme | None = None,
) -> ItemStatus:
    """One item's state for one person, as their standing row says it is on the day.

    `worth` is what the live completion of a completed item is worth when it is its own
    (partial credit, an offering's own days), not the catalogue's figure; `gate` the anchor
    of the note that explains this lock together with others' (see locked_together).
    """
    name, rest, aka = _names_of(catalogue, item)
    if values is None:  # no row (yet): nothing is claimed open
        values = _NO_ROW
    verdict = values.on(on)
    state = verdict.state
    reader = place_reader(item.kind)
    place = reader(state, verdict.met, values.application_status) if reader else None
    locked = state == ItemState.LOCKED
    completed = state == ItemState.COMPLETED
    return ItemStatus(
        code=item.code,
        title=item.title,
        kind=item.kind,
        description=item.description,
        format=item.format,
        ce_hours=worth if completed and worth is not None else item.ce_hours,
        state=state,
        completed_on=values.completed_on,
        completion_id=values.completion_id,
        explanation=verdict.explanation if locked else "",
        steps=verdict.steps if locked else (),
        outline=verdict.outline if locked else None,
        name=name,
        rest=rest,
        aka=aka,
        gate=gate,
        recommendation=values.recommendation,
        pending_equivalency=values.pending_equivalency,
        applied=values.applied,
        place=place,
    )

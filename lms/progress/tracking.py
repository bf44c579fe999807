"""Keeping the standings: handlers subscribed to the domain events that change a fact
(lms.signals: a completion recorded or revoked, credit asked for, decided or withdrawn, an
application's status or its offering's, an account's licence, name or roles, a catalogue
rule) note whose facts changed; before the unit of work commits their rows are rewritten.
Readers of the rows sync first, so a page read mid-transaction is current too. Only the
tracker's own sessions are kept: an event sent with any other session (a host app's) is
ignored. The mechanism is lms.read_models.KeptRows; the rows and their rewrite are
lms.progress.standings'.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, bindparam, case, cast, exists, or_, select
from sqlalchemy.orm import Session, aliased

from lms import signals
from lms.db import read
from lms.progress.facts import CATALOGUE_VERSION, ZONE_SETTING_VALUE
from lms.progress.models import Completion, ItemState, ProgressSummary, Standing
from lms.progress.standings import KEPT, RowValues, Verdict

# --------------------------------------------------------------------------------------------
# Reading


def met_on(on: date, row: Any = Standing) -> Any:
    """SQL: the standing's prerequisite is met on the day (the row may be an alias).

    Rules are monotone (no leaf is a negation), so losing a licence never turns an unmet rule
    into a met one: met on the day = met now, unless the licence has lapsed by then and the
    lapsed verdict is unmet. Written so the (item, met, ...) index narrows it.
    """
    return and_(
        row.met.is_(True),
        or_(row.lapses_on.is_(None), row.lapses_on > on, row.lapsed_met.is_(True)),
    )


def licensed_on(on: date) -> Any:
    """SQL: the summary's licence counts on the day."""
    return and_(
        ProgressSummary.licensed.is_(True),
        or_(ProgressSummary.lapses_on.is_(None), ProgressSummary.lapses_on > on),
    )


# Built once: the dashboard reads a person's rows on every view.
_ROWS_OF = select(*Standing.__table__.c).where(Standing.user_id == bindparam("user_id"))
_ROW_OF = _ROWS_OF.where(Standing.item_id == bindparam("item_id"))


def rows_of(session: Session, user_id: int) -> dict[int, RowValues]:
    """One person's stored rows by item id (synced first): one query."""
    sync(session)
    return {r.item_id: RowValues.of(r) for r in read(session, _ROWS_OF, {"user_id": user_id})}


# The day's verdict chosen in SQL, as RowValues.on chooses it: the lapsed one from the first
# day the licence no longer counts. Only a locked verdict's explanation and steps are read (the
# pages show no others), so most rows decode no JSON; the person's CE hours ride along, and so
# do the live completion's own hours and offering (a primary-key probe per completed row), so
# a page that shows what each completion is worth needs no read of the history.
_LAPSED_BY = and_(
    Standing.lapses_on.is_not(None),
    Standing.lapses_on <= bindparam("day"),
    Standing.lapsed_state.is_not(None),
)
_STATE_ON = case((_LAPSED_BY, Standing.lapsed_state), else_=Standing.state)
_LOCKED_ON = ItemState.LOCKED.value == _STATE_ON
_STATES = {state.value: state for state in ItemState}  # a dict lookup, not an Enum() call
# Whether the person has any completion at all, revoked ones included: their record page has
# a history to show (uncorrelated, so answered once per read, by the user_id index).
_EVER = aliased(Completion, name="ever")
_HAS_HISTORY = exists().where(_EVER.user_id == bindparam("user_id"))
_ROWS_ON = select(
    Standing.item_id,
    _STATE_ON,
    case((_LAPSED_BY, Standing.lapsed_met), else_=Standing.met),
    case((_LOCKED_ON, case((_LAPSED_BY, Standing.lapsed_explanation), else_=Standing.explanation))),
    # As their JSON text: decoded once per distinct text (_steps_of, _decoded).
    cast(case((_LOCKED_ON, case((_LAPSED_BY, Standing.lapsed_steps), else_=Standing.steps))), Text),
    cast(
        case((_LOCKED_ON, case((_LAPSED_BY, Standing.lapsed_outline), else_=Standing.outline))),
        Text,
    ),
    Standing.recommendation,
    Standing.completed_on,
    Standing.completion_id,
    Standing.pending_equivalency,
    Standing.applied,
    Standing.application_status,
    select(ProgressSummary.ce_hours)
    .where(ProgressSummary.user_id == bindparam("user_id"))
    .scalar_subquery(),
    Completion.ce_hours,
    Completion.offering_id,
    # The catalogue's version and the time zone ride along, so the dashboard needs no read of
    # its own to know its kept catalogue and its day are current (see clinician_snapshot).
    CATALOGUE_VERSION,
    cast(ZONE_SETTING_VALUE, Text),
    _HAS_HISTORY,
).outerjoin(Completion, Completion.id == Standing.completion_id)
_ROWS_ON = _ROWS_ON.where(Standing.user_id == bindparam("user_id"))
_CE_HOURS = select(
    select(ProgressSummary.ce_hours)
    .where(ProgressSummary.user_id == bindparam("user_id"))
    .scalar_subquery(),
    _HAS_HISTORY,
)


@dataclass(frozen=True)
class DayRows:
    """One person's rows as they stand on a day, with what their live completions are."""

    rows: dict[int, RowValues]  # by item id
    ce_hours: Decimal
    # item id -> (the live completion's own CE hours, None meaning the item's; its offering)
    live: dict[int, tuple[Decimal | None, int | None]] = field(default_factory=dict)
    # The catalogue's version and the time-zone setting, as the same read saw them (None when
    # the person has no rows, so nothing came back to carry them).
    catalogue_version: int | None = None
    zone: Any = None
    has_history: bool = False  # any completion, revoked ones included


# A locked item's steps and outline are the same JSON for everyone it locks for the same
# reason ("Complete Module 1, or have an equivalent ... approved" locks ten modules for every
# newcomer), so each distinct text is decoded once per process and the result shared: the
# pages only read them.
@functools.lru_cache(maxsize=4096)
def _steps_of(text: str | None) -> tuple[str, ...]:
    """A verdict's steps from their stored JSON text (none for NULL)."""
    return tuple(json.loads(text)) if text else ()


@functools.lru_cache(maxsize=4096)
def _decoded(text: str | None) -> Any:
    """A JSON value (a verdict's outline, the zone setting) from its stored text (None for
    NULL or JSON null)."""
    return json.loads(text) if text else None


def rows_on(session: Session, user_id: int, day: date) -> DayRows:
    """One person's rows as they stand on the day (synced first), their CE hours, and their
    live completions' own hours and offerings: one query.

    Each value holds that day's verdict alone (no lapse still to come), which is all a page
    showing the day needs; rows_of gives the stored rows whole.
    """
    sync(session)
    rows: dict[int, RowValues] = {}
    live: dict[int, tuple[Decimal | None, int | None]] = {}
    hours = None
    for row in read(session, _ROWS_ON, {"user_id": user_id, "day": day}):
        item_id, state, met, explanation, steps, outline, *shown = row
        *shown, hours, own, offering, version, zone, ever = shown
        if shown[2] is not None:
            live[item_id] = (own, offering)
        rows[item_id] = RowValues(
            Verdict(
                _STATES[state], bool(met), explanation or "", _steps_of(steps), _decoded(outline)
            ),
            recommendation=shown[0] or "",
            completed_on=shown[1],
            completion_id=shown[2],
            pending_equivalency=shown[3] or "",
            applied=bool(shown[4]),
            application_status=shown[5],
        )
    if not rows:  # no active item (or no rows yet): the summary may still hold hours
        hours, ever = read(session, _CE_HOURS, {"user_id": user_id}).one()
        return DayRows(rows, Decimal(hours or 0), live, has_history=bool(ever))
    return DayRows(rows, Decimal(hours or 0), live, version, _decoded(zone), bool(ever))


def row_of(session: Session, user_id: int, item_id: int) -> RowValues | None:
    """One stored row (synced first), or None."""
    sync(session)
    found = read(session, _ROW_OF, {"user_id": user_id, "item_id": item_id}).first()
    return RowValues.of(found) if found is not None else None


# --------------------------------------------------------------------------------------------
# Keeping the rows: note what each flush touched, rewrite before commit


# The readers' and the writers' names for the kept rows (lms.read_models.KeptRows).
mark_changed = KEPT.mark_changed  # people whose facts changed by a statement no event names
sync = KEPT.sync  # flush, then rewrite the marked rows: the report, or None


def catalogue_changed(session: Session) -> bool:
    """Whether this transaction changed the catalogue in a way the standings show (flushes)."""
    session.flush()
    return bool(session.info.get(KEPT.everyone))


# The domain events, each with who it names: a handler notes them on the tracker's session.
HANDLERS = (
    (signals.completion_recorded, KEPT.its_person),
    (signals.completion_revoked, KEPT.its_person),
    (signals.completions_recorded, KEPT.their_people),
    (signals.equivalency_requested, KEPT.its_person),
    (signals.equivalency_decided, KEPT.its_person),
    (signals.equivalency_withdrawn, KEPT.its_person),
    (signals.enrolment_changed, KEPT.its_person),
    # Closing or cancelling an offering ends the live places it did not settle (waitlist,
    # review); reopening or reinstating it gives them back.
    (signals.offering_status_changed, KEPT.the_people_named),
    (signals.account_changed, KEPT.the_account),
    (signals.licence_verified, KEPT.the_account),
    (signals.catalogue_changed, KEPT.the_catalogue),
)


def install() -> None:
    """Keep the standings on the tracker's own sessions (once per process): the handlers
    subscribe to the domain events, and each unit of work rewrites its rows before commit.

    Code that writes facts without the services that send the events (a bulk load, a data
    migration) calls `mark_changed`, or `refresh` itself.
    """
    KEPT.install(HANDLERS)

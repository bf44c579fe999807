"""Offerings' parts of the catalogue: in its file, [[items.offerings]] (dated runs written in
the file) and the attendance policy's [programme] settings and accreditation-statement
fields; on its pages and commands, an item's sessions.

Registered with the catalogue from `subscribe()` (lms.features lists this module), so the
catalogue, which stands below offerings, names none of these modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.catalog import item_sessions
from lms.catalog.api import CatalogItem, FilePart, SessionView, register_file_part
from lms.clock import today
from lms.offerings import attendance_policy
from lms.offerings.models import Offering, OfferingFormat
from lms.offerings.specs import OfferingSpec, apply_offerings, check_offerings, new_from_spec


def _check(raw: Any, is_retreat: bool, add: Callable[[str], None]) -> list[OfferingSpec]:
    """The item's [[items.offerings]], checked (none when the table has no such key)."""
    return [] if raw is None else check_offerings(raw, is_retreat=is_retreat, add=add)


def _apply(item: CatalogItem, specs: list[OfferingSpec], is_new: bool) -> bool:
    """A new item gets the file's offerings; an existing one is brought in line."""
    if is_new:
        item.offerings.extend(new_from_spec(spec) for spec in specs)
        return bool(specs)
    return apply_offerings(item, specs)


PART = FilePart(
    programme_keys=attendance_policy.PROGRAMME_KEYS,
    check_programme_value=attendance_policy.check_programme_value,
    statement_fields=attendance_policy.STATEMENT_FIELDS,
    item_key="offerings",
    check_item_value=_check,
    apply_to_item=_apply,
)


def session_view(row: Offering, today: date) -> SessionView:
    """Plain values for one session, as read on the programme date `today`."""
    return SessionView(
        row.starts_on,
        row.ends_on,
        row.location,
        row.capacity,
        row.enrolment_deadline,
        row.active,
        id=row.id,
        online=row.format == OfferingFormat.LIVE_ONLINE,
        joining_closed=row.refusal_to_join(today) is not None,
    )


class OfferingSessions:
    """The catalogue's sessions of an item are its offerings (lms.catalog.item_sessions)."""

    def counts(self, session: Session) -> dict[int, int]:
        """{item id: number of offerings} (one query)."""
        rows = session.execute(select(Offering.item_id, func.count()).group_by(Offering.item_id))
        return dict(rows.all())

    def of_item(self, session: Session, item_id: int) -> list[SessionView]:
        """Every offering of the item, in date order (one query)."""
        rows = session.scalars(
            select(Offering).where(Offering.item_id == item_id).order_by(Offering.starts_on)
        )
        on = today(session)
        return [session_view(row, on) for row in rows]

    def upcoming(self, session: Session, on: date) -> dict[int, list[SessionView]]:
        """Offerings of active items still to come on `on` (Offering.upcoming: not started,
        as the offerings list and the offering's page count it), by item (one query)."""
        rows = session.scalars(
            select(Offering)
            .join(Offering.item)
            .where(Offering.upcoming(on), CatalogItem.active.is_(True))
            .order_by(Offering.starts_on, Offering.location)
        )
        by_item: dict[int, list[SessionView]] = {}
        for row in rows:
            by_item.setdefault(row.item_id, []).append(session_view(row, on))
        return by_item


SESSIONS = OfferingSessions()


def subscribe() -> None:
    """Register the file part with the catalogue's loader and the sessions with its pages
    (once)."""
    register_file_part(PART)
    item_sessions.register(SESSIONS)

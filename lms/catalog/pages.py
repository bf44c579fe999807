"""What the catalogue's pages show: items with their rules in words and their sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalog import rule_checks, rules
from lms.catalog.item_sessions import SessionView, sessions_of, upcoming_sessions
from lms.catalog.models import CatalogItem
from lms.catalog.reading import (
    ItemValues,
    all_items_with_session_counts,
    item_name,
    load_catalogue,
)
from lms.errors import NotFound
from lms.i18n import translate

# --- page data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView(ItemValues):
    """An item as pages show it: plain values, rules already put in words."""

    prerequisite_words: str
    recommended_words: str
    session_count: int = 0
    sessions: tuple[SessionView, ...] = ()
    required_by: tuple[str, ...] = ()


def _item_view(
    item: CatalogItem,
    names: Mapping[str, rules.ItemName],
    *,
    session_count: int = 0,
    sessions: tuple[SessionView, ...] = (),
    required_by: tuple[str, ...] = (),
) -> ItemView:
    """Plain values for one item."""
    return ItemView(
        code=item.code,
        kind=item.kind,
        title=item.title,
        short_title=item.short_title,
        description=item.description,
        format=item.format,
        ce_hours=item.ce_hours,
        position=item.position,
        active=item.active,
        prerequisite=item.prerequisite,
        prerequisite_words=_words(item.prerequisite, names),
        recommended=item.recommended,
        recommended_words=_words(item.recommended, names) if item.recommended else "",
        recommended_note=item.recommended_note,
        equivalent_label=item.equivalent_label,
        certificate_design=item.certificate_design,
        session_count=session_count,
        sessions=sessions,
        required_by=required_by,
    )


def _words(rule: dict[str, Any] | None, names: Mapping[str, rules.ItemName]) -> str:
    """A stored rule in words; "None" for no rule, a warning for a malformed one."""
    if rule is None:
        return "None"
    try:
        return rules.describe(rule, names)
    except rules.RuleError:
        return translate("This rule is malformed; reload the catalogue file to correct it.")


def admin_item_list(session: Session) -> list[ItemView]:
    """Every item, active first, with rules in words and session counts (2 queries)."""
    rows = all_items_with_session_counts(session)
    names = {item.code: item_name(item) for item, _count in rows}
    return [_item_view(item, names, session_count=count) for item, count in rows]


def admin_item_detail(session: Session, code: str) -> ItemView:
    """One item with its sessions and the items whose rules name it (NotFound if unknown)."""
    items = session.scalars(select(CatalogItem)).all()
    item = next((i for i in items if i.code == code), None)
    if item is None:
        raise NotFound(
            translate("There is no catalogue item with the code {code}.").format(code=repr(code))
        )
    names = {i.code: item_name(i) for i in items}
    required_by = tuple(
        sorted(
            other.code
            for other in items
            if other.code != code
            and code
            in rule_checks.referenced_codes(other.prerequisite)
            | rule_checks.referenced_codes(other.recommended)
        )
    )
    sessions = sessions_of(session, item.id)
    return _item_view(
        item, names, sessions=sessions, session_count=len(sessions), required_by=required_by
    )


def programme_overview(session: Session, *, on: date) -> list[ItemView]:
    """Active items in programme order with upcoming sessions for retreats (2 queries)."""
    catalogue = load_catalogue(session)
    names = catalogue.names
    upcoming = upcoming_sessions(session, on=on)
    return [
        _item_view(
            item,
            names,
            sessions=tuple(upcoming.get(item.id, ())),
        )
        for item in catalogue.items
    ]

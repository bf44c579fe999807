"""Reading the catalogue: the active items in programme order with their lookups, one item,
the names rules use, upcoming sessions and the programme's settings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalog import rules
from lms.catalog.item_sessions import session_counts
from lms.catalog.models import CatalogItem, ItemKind, ProgrammeSetting
from lms.errors import NotFound
from lms.i18n import DEFAULT_LOCALE, translate

# Settings every caller may rely on; the catalogue file's [programme] table overrides them.
DEFAULT_PROGRAMME_SETTINGS: dict[str, Any] = {
    "provider_name": "",
    "provider_address": "",
    "partner_name": "",
    "signatory_name": "",
    "signatory_title": "",
    "retention_years": 6,
    "certificate_valid_months": 0,
    "certificate_page_size": "letter",
    "accreditation_statements": [],
    "time_zone": "America/Los_Angeles",
    "locale": DEFAULT_LOCALE,  # lms.i18n.SUPPORTED_LOCALES
}


@dataclass(frozen=True)
class ItemValues:
    """What describes an item, as plain values with no database session behind them (pages
    and the kept catalogue add what each needs)."""

    code: str
    kind: ItemKind
    title: str
    short_title: str
    description: str
    format: str
    ce_hours: Decimal | None
    position: int
    active: bool
    prerequisite: dict[str, Any] | None
    recommended: dict[str, Any] | None
    recommended_note: str
    equivalent_label: str
    certificate_design: str

    @property
    def is_retreat(self) -> bool:
        """Retreats have sessions and no CE hours."""
        return self.kind == ItemKind.RETREAT


@dataclass(frozen=True)
class Catalogue:
    """The active items, in programme order, read in one query."""

    items: tuple[CatalogItem, ...]

    @property
    def by_code(self) -> dict[str, CatalogItem]:
        """Items by code."""
        return {item.code: item for item in self.items}

    @property
    def names(self) -> dict[str, rules.ItemName]:
        """How each item is named in rule explanations."""
        return {item.code: item_name(item) for item in self.items}

    @property
    def modules(self) -> tuple[CatalogItem, ...]:
        """Core and specialty modules."""
        return tuple(item for item in self.items if item.kind != ItemKind.RETREAT)

    @property
    def retreats(self) -> tuple[CatalogItem, ...]:
        """Retreats."""
        return tuple(item for item in self.items if item.kind == ItemKind.RETREAT)


def item_name(item: CatalogItem) -> rules.ItemName:
    """An item's name for explanations ("Module 1", not the long title)."""
    return rules.ItemName(item.short_title or item.title, item.equivalent_label)


# --- reading -----------------------------------------------------------------------------


def load_catalogue(session: Session) -> Catalogue:
    """The active catalogue in programme order (one query, no sessions loaded)."""
    items = session.scalars(
        select(CatalogItem)
        .where(CatalogItem.active.is_(True))
        .order_by(CatalogItem.position, CatalogItem.code)
    ).all()
    return Catalogue(items=tuple(items))


def get_item(session: Session, code: str) -> CatalogItem:
    """The item with this code, active or not (NotFound otherwise)."""
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
    if item is None:
        raise NotFound(
            translate("There is no catalogue item with the code {code}.").format(code=repr(code))
        )
    return item


def all_items_with_session_counts(session: Session) -> list[tuple[CatalogItem, int]]:
    """Every item, active or not, in programme order, with its number of sessions (2 queries)."""
    items = session.scalars(
        select(CatalogItem).order_by(
            CatalogItem.active.desc(), CatalogItem.position, CatalogItem.code
        )
    ).all()
    counts = session_counts(session)
    return [(item, counts.get(item.id, 0)) for item in items]


def all_names(session: Session) -> dict[str, rules.ItemName]:
    """Names of every item, active or not (rules may still mention an inactive one)."""
    rows = session.execute(
        select(
            CatalogItem.code,
            CatalogItem.title,
            CatalogItem.short_title,
            CatalogItem.equivalent_label,
        )
    ).all()
    return {code: rules.ItemName(short or title, label) for code, title, short, label in rows}


def programme_settings(session: Session) -> dict[str, Any]:
    """Programme-wide settings (provider, accreditation, signatory...), defaults filled in."""
    settings = dict(DEFAULT_PROGRAMME_SETTINGS)
    settings.update(session.execute(select(ProgrammeSetting.key, ProgrammeSetting.value)).all())
    return settings

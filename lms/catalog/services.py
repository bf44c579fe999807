"""The catalogue's services in one place for callers: load a TOML catalogue file, read it,
edit items, and what its pages show.

Each job has its own module; this one only names what they offer:
- lms.catalog.reading: the active catalogue, one item, names, sessions, programme settings;
- lms.catalog.loading: a catalogue file checked whole, then applied and audited;
- lms.catalog.editing: one item edited from the admin pages;
- lms.catalog.checks: what loading and editing both check;
- lms.catalog.pages: the items as the catalogue's pages show them.
"""

from __future__ import annotations

from lms.catalog.catalogue_file import (
    CODE_PATTERN,
    ITEM_ATTRIBUTES,
    ITEM_FIELDS,
    SINGLE_LINE_SETTINGS,
    STATEMENT_LIMITS,
    CatalogError,
)
from lms.catalog.checks import (
    MAX_CE_HOURS,
    TEXT_LIMITS,
    deactivation_refused,
    dependants_of,
    kind_of,
    parse_ce_hours,
    same_value,
)
from lms.catalog.editing import (
    EDITABLE_FIELDS,
    ItemEditError,
    update_item,
)
from lms.catalog.item_sessions import SessionView, upcoming_sessions
from lms.catalog.loading import DEFAULT_CATALOG, LoadReport, load_catalog
from lms.catalog.pages import (
    ItemView,
    admin_item_detail,
    admin_item_list,
    programme_overview,
)
from lms.catalog.reading import (
    DEFAULT_PROGRAMME_SETTINGS,
    Catalogue,
    all_items_with_session_counts,
    all_names,
    get_item,
    item_name,
    load_catalogue,
    programme_settings,
)

__all__ = [
    "CODE_PATTERN",
    "CatalogError",
    "Catalogue",
    "DEFAULT_CATALOG",
    "DEFAULT_PROGRAMME_SETTINGS",
    "EDITABLE_FIELDS",
    "ITEM_ATTRIBUTES",
    "ITEM_FIELDS",
    "ItemEditError",
    "ItemView",
    "LoadReport",
    "MAX_CE_HOURS",
    "SINGLE_LINE_SETTINGS",
    "STATEMENT_LIMITS",
    "SessionView",
    "TEXT_LIMITS",
    "admin_item_detail",
    "admin_item_list",
    "all_items_with_session_counts",
    "all_names",
    "deactivation_refused",
    "dependants_of",
    "get_item",
    "item_name",
    "kind_of",
    "load_catalog",
    "load_catalogue",
    "parse_ce_hours",
    "programme_overview",
    "programme_settings",
    "same_value",
    "upcoming_sessions",
    "update_item",
]

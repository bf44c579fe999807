"""Loading a TOML catalogue file: the file checked first (lms.catalog.catalogue_file: all
problems reported together, nothing changed), then applied in one transaction and audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from lms import signals
from lms.audit.services import record_event
from lms.catalog.catalogue_file import (
    FILE_PARTS,
    ITEM_ATTRIBUTES,
    CatalogError,
    FilePart,
    ItemSpec,
    read_file,
)
from lms.catalog.checks import (
    same_value,
)
from lms.catalog.models import (
    CatalogItem,
    ProgrammeSetting,
)
from lms.clock import SETTING as ZONE_SETTING
from lms.clock import forget_zone
from lms.i18n import SETTING as LOCALE_SETTING
from lms.i18n_app import forget_locale

DEFAULT_CATALOG: Path = Path(__file__).resolve().parent.parent / "data" / "catalog.toml"


@dataclass
class LoadReport:
    """What loading a catalogue file changed."""

    path: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    settings_changed: list[str] = field(default_factory=list)
    fields_changed: set[str] = field(default_factory=set)  # item attributes updated

    @property
    def changed(self) -> bool:
        """Whether the load wrote anything."""
        return bool(self.created or self.updated or self.deactivated or self.settings_changed)

    def counts(self) -> dict[str, int]:
        """The numbers, for the audit trail and the command line."""
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "deactivated": len(self.deactivated),
            "unchanged": len(self.unchanged),
            "settings_changed": len(self.settings_changed),
        }

    def summary(self) -> str:
        """One line for people."""
        c = self.counts()
        text = (
            f"{c['created']} created, {c['updated']} updated, {c['deactivated']} deactivated, "
            f"{c['unchanged']} unchanged"
        )
        if c["settings_changed"]:
            text += f"; {c['settings_changed']} programme settings changed"
        return text if self.changed else text + " (nothing to do)"


def load_catalog(session: Session, path: Path | str, *, actor_id: int | None = None) -> LoadReport:
    """Validate a catalogue file as a whole, then bring the database in line with it.

    Nothing is written unless the whole file is valid (CatalogError lists every problem).
    Items are matched by code, sessions by (item, start date, location); items missing from
    the file are deactivated, never deleted; sessions missing from the file are left as they
    are (they may have been added in the app). Loading the same file twice changes nothing.
    """
    path = Path(path)
    programme, items = read_file(path)
    report = LoadReport(path=str(path))
    try:
        with session.begin_nested():
            _apply_items(session, items, report)
            _apply_programme(session, programme, report)
            session.flush()
    except SQLAlchemyError as error:
        # The savepoint rolled back; tell the operator what the database refused.
        raise CatalogError([f"{path}: the database refused the catalogue: {error.orig}"]) from error
    if report.changed:
        record_event(
            session,
            actor_id=actor_id,
            action="catalog.loaded",
            subject_type="catalog",
            file=str(path),
            **report.counts(),
        )
        session.flush()
        added_or_retired = report.created or report.deactivated
        fields = None if added_or_retired else frozenset(report.fields_changed)
        signals.catalogue_changed.send(report, session=session, fields=fields)
    return report


def _apply_items(session: Session, specs: list[ItemSpec], report: LoadReport) -> None:
    """Create, update and deactivate items and sessions to match the file."""
    existing = {
        item.code: item
        for item in session.scalars(
            select(CatalogItem)
            .options(selectinload(CatalogItem.offerings))
            .execution_options(populate_existing=True)  # sessions added since, by the app
        )
    }
    for spec in specs:
        item = existing.pop(spec.code, None)
        if item is None:
            item = CatalogItem(code=spec.code, **spec.values)
            session.add(item)
            for key, value in spec.parts.items():
                _part_of(key).apply_to_item(item, value, True)
            report.created.append(spec.code)
            continue
        changed = False
        for attribute in ITEM_ATTRIBUTES:
            if not same_value(getattr(item, attribute), spec.values[attribute]):
                setattr(item, attribute, spec.values[attribute])
                report.fields_changed.add(attribute)
                changed = True
        for key, value in spec.parts.items():
            changed = _part_of(key).apply_to_item(item, value, False) or changed
        (report.updated if changed else report.unchanged).append(spec.code)
    for code, item in sorted(existing.items()):
        if item.active:
            item.active = False
            report.deactivated.append(code)


def _part_of(item_key: str) -> FilePart:
    """The registered part that reads this key of an [[items]] table."""
    return next(part for part in FILE_PARTS if part.item_key == item_key)


def _apply_programme(session: Session, settings: dict[str, Any], report: LoadReport) -> None:
    """Upsert each programme setting the file gives."""
    stored = {row.key: row for row in session.scalars(select(ProgrammeSetting))}
    for key, value in sorted(settings.items()):
        row = stored.get(key)
        if row is None:
            session.add(ProgrammeSetting(key=key, value=value))
            report.settings_changed.append(key)
        elif row.value != value:
            row.value = value
            report.settings_changed.append(key)
    if ZONE_SETTING in report.settings_changed:
        forget_zone()  # what follows in this unit of work (the standings) uses the new zone
    if LOCALE_SETTING in report.settings_changed:
        forget_locale()  # and its words and dates the new locale

"""The catalogue's services: load a TOML catalogue file, read snapshots, edit items."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from lms import validation
from lms.audit.services import record_event
from lms.catalog import attendance_policy, evaluation_form, rules
from lms.catalog.models import (
    CatalogItem,
    ItemKind,
    Offering,
    OfferingFormat,
    ProgrammeSetting,
)
from lms.catalog.offering_specs import OfferingSpec, apply_offerings, check_offerings, new_from_spec
from lms.catalog.offerings import listed
from lms.clock import zone_named
from lms.errors import DomainError, InvalidInput, NotFound

DEFAULT_CATALOG: Path = Path(__file__).resolve().parent.parent / "data" / "catalog.toml"

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")
MAX_CE_HOURS = Decimal("9999.99")

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
}


class CatalogError(DomainError):
    """A catalogue file was refused; `problems` lists every reason, one line each."""

    status_code = 422

    def __init__(self, problems: list[str]) -> None:
        """Keep each problem; the message is all of them, one per line."""
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class ItemEditError(InvalidInput):
    """An edit was refused; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        """Keep the message and the field it is about."""
        super().__init__(message)
        self.field = field


@dataclass
class LoadReport:
    """What loading a catalogue file changed."""

    path: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    settings_changed: list[str] = field(default_factory=list)

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
        raise NotFound(f"There is no catalogue item with the code {code!r}.")
    return item


def all_items_with_session_counts(session: Session) -> list[tuple[CatalogItem, int]]:
    """Every item, active or not, in programme order, with its number of sessions (2 queries)."""
    items = session.scalars(
        select(CatalogItem).order_by(
            CatalogItem.active.desc(), CatalogItem.position, CatalogItem.code
        )
    ).all()
    counts = dict(
        session.execute(select(Offering.item_id, func.count()).group_by(Offering.item_id)).all()
    )
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


def upcoming_sessions(session: Session, *, on: date) -> dict[int, list[Offering]]:
    """Listed offerings of active items starting on or after `on`, by item id (one query)."""
    rows = session.scalars(
        select(Offering)
        .join(Offering.item)
        .where(
            listed(),
            CatalogItem.active.is_(True),
            Offering.starts_on >= on,
        )
        .order_by(Offering.starts_on, Offering.location)
    ).all()
    by_item: dict[int, list[Offering]] = {}
    for row in rows:
        by_item.setdefault(row.item_id, []).append(row)
    return by_item


def programme_settings(session: Session) -> dict[str, Any]:
    """Programme-wide settings (provider, accreditation, signatory...), defaults filled in."""
    settings = dict(DEFAULT_PROGRAMME_SETTINGS)
    settings.update(session.execute(select(ProgrammeSetting.key, ProgrammeSetting.value)).all())
    return settings


# --- loading a file ----------------------------------------------------------------------

# Attributes compared and written for each item, in the order the file's values map to them.
ITEM_ATTRIBUTES = (
    "kind",
    "title",
    "short_title",
    "description",
    "format",
    "ce_hours",
    "position",
    "prerequisite",
    "recommended",
    "recommended_note",
    "equivalent_label",
    "certificate_design",
    "certificate_valid_months",
    "active",
    *evaluation_form.ITEM_FIELDS,  # objectives and evaluation_required
)
# Every key an [[items]] table may hold.
ITEM_FIELDS = {"code", "offerings", *ITEM_ATTRIBUTES}
# Programme settings that are one line of text on certificates and in mail, and their bounds.
SINGLE_LINE_SETTINGS = {
    "provider_name": 200,
    "partner_name": 200,
    "signatory_name": 200,
    "signatory_title": 200,
}
STATEMENT_LIMITS = {"body": 200, "statement": 5000, "credit_type": 200, "example": None}
TEXT_LIMITS = {
    "title": 200,
    "short_title": 80,
    "description": 20_000,
    "format": 80,
    "recommended_note": 300,
    "equivalent_label": 200,
    "certificate_design": 40,
}


@dataclass
class _ItemSpec:
    """An item as the file describes it, already converted to model values."""

    code: str
    values: dict[str, Any]
    offerings: list[OfferingSpec]


class _Problems:
    """Collects problems, each naming the file, item and field."""

    def __init__(self, path: Path) -> None:
        """Start with none."""
        self.path = path
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        """Record one problem at `where` (item and field)."""
        self.lines.append(
            f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}"
        )


def load_catalog(session: Session, path: Path | str, *, actor_id: int | None = None) -> LoadReport:
    """Validate a catalogue file as a whole, then bring the database in line with it.

    Nothing is written unless the whole file is valid (CatalogError lists every problem).
    Items are matched by code, sessions by (item, start date, location); items missing from
    the file are deactivated, never deleted; sessions missing from the file are left as they
    are (they may have been added in the app). Loading the same file twice changes nothing.
    """
    path = Path(path)
    programme, items = _read_file(path)
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
    return report


def _read_file(path: Path) -> tuple[dict[str, Any], list[_ItemSpec]]:
    """Parse and validate the file, raising CatalogError with every problem found."""
    problems = _Problems(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise CatalogError([f"{path}: no such file"]) from None
    except OSError as error:
        raise CatalogError([f"{path}: cannot be read ({error.strerror})"]) from None
    except UnicodeDecodeError as error:
        raise CatalogError(
            [f"{path}: not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8"]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogError([f"{path}: not valid TOML: {error}"]) from None
    except RecursionError:
        # tomllib reads nested tables recursively; a rule this deep is refused anyway.
        raise CatalogError(
            [f"{path}: tables are nested too deeply to read ({rules.DEPTH_MESSAGE})"]
        ) from None

    for key in sorted(set(data) - {"programme", "items"}):
        problems.add(f"top level key {key!r}", "unknown; expected [programme] and [[items]]")
    programme = _check_programme(data.get("programme", {}), problems)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.add("items", "expected at least one [[items]] table")
        raw_items = []

    specs: list[_ItemSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items):
        spec = _check_item(raw, index, problems)
        if spec is None:
            continue
        if spec.code in seen:
            problems.add(
                f"item {spec.code} (items[{index}])",
                f"field code: duplicate code; item {seen[spec.code] + 1} already uses it",
            )
            continue
        seen[spec.code] = index
        specs.append(spec)
    evaluation_form.settle_required(
        programme,
        [(s.code, s.values) for s in specs],
        lambda code, m: problems.add(f"item {code}", m),
    )

    known = {spec.code for spec in specs}
    for spec in specs:
        for field_name in ("prerequisite", "recommended"):
            for problem in rules.validate_rule(spec.values[field_name], known):
                problems.add(f"item {spec.code}", f"field {field_name}: {problem}")
    if not problems.lines:
        cycle = rules.find_cycle({spec.code: spec.values["prerequisite"] for spec in specs})
        if cycle:
            problems.add(
                f"item {cycle[0]}",
                "field prerequisite: prerequisites form a cycle " + " -> ".join(cycle),
            )
    if not problems.lines:
        _check_deactivations(specs, problems)
    if problems.lines:
        raise CatalogError(problems.lines)
    return programme, specs


def _check_deactivations(specs: list[_ItemSpec], problems: _Problems) -> None:
    """An item the file marks inactive must not be named by an active item's rules."""
    listed = [
        (spec.code, spec.values["active"], spec.values["prerequisite"], spec.values["recommended"])
        for spec in specs
    ]
    for spec in specs:
        if spec.values["active"] is False and (dependants := dependants_of(spec.code, listed)):
            problems.add(
                f"item {spec.code}", "field active: " + _deactivation_refused(spec.code, dependants)
            )


def _check_programme(raw: Any, problems: _Problems) -> dict[str, Any]:
    """Validate the [programme] table and return JSON-ready settings."""
    if not isinstance(raw, dict):
        problems.add("programme", "expected a [programme] table")
        return {}
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"programme field {key}"
        if len(key) > 80:
            problems.add(where, "setting names are at most 80 characters")
            continue
        if key in {"retention_years", "certificate_valid_months"}:
            minimum = 1 if key == "retention_years" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                problems.add(where, f"expected a whole number of at least {minimum}")
                continue
        elif key == "accreditation_statements":
            value = _check_statements(value, where, problems)
            if value is None:
                continue
        elif key in attendance_policy.PROGRAMME_KEYS:
            if problem := attendance_policy.check_programme_value(key, value):
                problems.add(where, problem)
                continue
        elif key in evaluation_form.PROGRAMME_KEYS:
            value = evaluation_form.check_programme_value(key, value, partial(problems.add, where))
            if value is None:
                continue
        elif key == "time_zone":
            try:
                zone_named(value)
            except ValueError as error:
                problems.add(where, str(error))
                continue
        elif key in DEFAULT_PROGRAMME_SETTINGS and not isinstance(value, str):
            problems.add(where, f"expected text, got {_kind_of(value)}")
            continue
        elif key in SINGLE_LINE_SETTINGS:
            value = validation.trim(value)
            if problem := validation.line_problem(value, SINGLE_LINE_SETTINGS[key]):
                problems.add(where, _lower(problem))
                continue
        if problem := _text_anywhere_problem(value):
            problems.add(where, problem)
            continue
        settings[key] = _jsonable(value)
    return settings


def _text_anywhere_problem(value: Any) -> str | None:
    """A problem with any text inside a setting (multi-line rules, bounded), or None."""
    if isinstance(value, str):
        problem = validation.text_problem(value, validation.MULTI_LINE_MAX)
        return _lower(problem) if problem else None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        return next((p for v in value if (p := _text_anywhere_problem(v))), None)
    return None


def _lower(message: str) -> str:
    """A validation message continued after "field x: "."""
    return message[:1].lower() + message[1:].rstrip(".")


def _check_statements(value: Any, where: str, problems: _Problems) -> list[dict] | None:
    """Accreditation statements: a list of tables with body, statement, credit_type, example."""
    if not isinstance(value, list):
        problems.add(where, "expected a list of [[programme.accreditation_statements]] tables")
        return None
    allowed = {"body": str, "statement": str, "credit_type": str, "example": bool}
    allowed.update(attendance_policy.STATEMENT_FIELDS)
    ok = True
    for index, entry in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(entry, dict):
            problems.add(here, "expected a table")
            ok = False
            continue
        for key in sorted(set(entry) - set(allowed)):
            problems.add(here, f"unknown field {key!r}; expected {', '.join(allowed)}")
            ok = False
        for key in ("body", "statement"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                problems.add(here, f"field {key}: expected non-empty text")
                ok = False
        for key, kind in allowed.items():
            if key in entry and not isinstance(entry[key], kind):
                problems.add(here, f"field {key}: expected {kind.__name__}")
                ok = False
            elif isinstance(entry.get(key), str):
                limit = STATEMENT_LIMITS[key]
                check = validation.line_problem if key != "statement" else validation.text_problem
                text = entry[key] if key == "statement" else validation.trim(entry[key])
                if problem := check(text, limit):
                    problems.add(here, f"field {key}: {_lower(problem)}")
                    ok = False
    return value if ok else None


def _check_item(raw: Any, index: int, problems: _Problems) -> _ItemSpec | None:
    """Validate one [[items]] table; None when it cannot even be identified."""
    if not isinstance(raw, dict):
        problems.add(f"items[{index}]", "expected a table")
        return None
    code = raw.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        problems.add(
            f"items[{index}]",
            f"field code: expected 1-40 capital letters, digits, '-' or '_' (got {code!r})",
        )
        return None
    where = f"item {code}"
    before = len(problems.lines)
    for key in sorted(set(raw) - ITEM_FIELDS):
        hint = " ([[items.sessions]] are now [[items.offerings]])" if key == "sessions" else ""
        problems.add(
            where,
            f"field {key}: unknown field{hint}; expected one of {', '.join(sorted(ITEM_FIELDS))}",
        )

    kind_value = raw.get("kind")
    try:
        kind = ItemKind(kind_value)
    except ValueError:
        problems.add(
            where,
            f"field kind: expected one of {', '.join(k.value for k in ItemKind)}, "
            f"got {kind_value!r}",
        )
        kind = None

    values: dict[str, Any] = {"kind": kind}
    for name, limit in TEXT_LIMITS.items():
        value = raw.get(name, "")
        if name == "certificate_design" and name not in raw:
            value = "retreat" if kind == ItemKind.RETREAT else "module"
        if not isinstance(value, str):
            problems.add(where, f"field {name}: expected text, got {_kind_of(value)}")
            values[name] = value
            continue
        if name != "description":
            value = validation.trim(value)
        check = validation.text_problem if name == "description" else validation.line_problem
        if problem := check(value, limit):
            problems.add(where, f"field {name}: {_lower(problem)}")
        elif name == "title" and not value:
            problems.add(where, "field title: required")
        values[name] = value

    values["ce_hours"] = None
    if "ce_hours" in raw:
        hours = raw["ce_hours"]
        if kind == ItemKind.RETREAT:
            problems.add(where, "field ce_hours: retreats carry no CE hours; remove the field")
        else:
            try:
                values["ce_hours"] = parse_ce_hours(hours)
            except InvalidInput as error:
                problems.add(where, f"field ce_hours: {error.message}")

    position = raw.get("position", (index + 1) * 10)
    if isinstance(position, bool) or not isinstance(position, int) or abs(position) > 1_000_000:
        problems.add(where, f"field position: expected a whole number, got {_kind_of(position)}")
    values["position"] = position

    for name in ("prerequisite", "recommended"):
        rule = raw.get(name)
        if rule is not None and not isinstance(rule, dict):
            problems.add(where, f"field {name}: expected a rule table, got {_kind_of(rule)}")
            rule = None
        values[name] = rule

    months = raw.get("certificate_valid_months")
    if months is not None and (
        isinstance(months, bool) or not isinstance(months, int) or months < 0
    ):
        problems.add(where, "field certificate_valid_months: expected a whole number of 0 or more")
    values["certificate_valid_months"] = months

    active = raw.get("active", True)
    if not isinstance(active, bool):
        problems.add(where, f"field active: expected true or false, got {_kind_of(active)}")
    values["active"] = active
    values.update(evaluation_form.check_item_fields(raw, partial(problems.add, where)))

    offerings: list[OfferingSpec] = []
    if "offerings" in raw:
        offerings = check_offerings(
            raw["offerings"],
            is_retreat=kind == ItemKind.RETREAT,
            add=lambda message: problems.add(where, message),
        )

    if len(problems.lines) > before:
        return _ItemSpec(code=code, values=values, offerings=[])  # still counts for references
    return _ItemSpec(code=code, values=values, offerings=offerings)


def _apply_items(session: Session, specs: list[_ItemSpec], report: LoadReport) -> None:
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
            for offering in spec.offerings:
                item.offerings.append(new_from_spec(offering))
            report.created.append(spec.code)
            continue
        changed = False
        for attribute in ITEM_ATTRIBUTES:
            if not _same(getattr(item, attribute), spec.values[attribute]):
                setattr(item, attribute, spec.values[attribute])
                changed = True
        changed = apply_offerings(item, spec.offerings) or changed
        (report.updated if changed else report.unchanged).append(spec.code)
    for code, item in sorted(existing.items()):
        if item.active:
            item.active = False
            report.deactivated.append(code)


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


def _same(current: Any, wanted: Any) -> bool:
    """Equality that treats 8 and 8.00 hours alike and enum members like their values."""
    if isinstance(current, Decimal) or isinstance(wanted, Decimal):
        if current is None or wanted is None:
            return current is wanted
        return Decimal(current) == Decimal(wanted)
    return current == wanted


def _jsonable(value: Any) -> Any:
    """TOML values as JSON values (dates become ISO text)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _kind_of(value: Any) -> str:
    """A short name of a TOML value's type for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


# --- editing -----------------------------------------------------------------------------


def parse_ce_hours(value: Any) -> Decimal | None:
    """CE hours from a file or a form: None/"" for none, else 0-9999.99 in 0.01 steps."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidInput(f"expected a number of hours, got {_kind_of(value)}")
    try:
        hours = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a number of hours") from None
    if not hours.is_finite() or hours < 0:
        raise InvalidInput("CE hours must be zero or more")
    if hours > MAX_CE_HOURS:
        raise InvalidInput(f"CE hours must be at most {MAX_CE_HOURS}")
    if hours != hours.quantize(Decimal("0.01")):
        raise InvalidInput("CE hours take at most two decimals (for example 7.25)")
    return hours


EDITABLE_FIELDS = (
    "title",
    "short_title",
    "description",
    "format",
    "ce_hours",
    "position",
    "active",
    "recommended_note",
    "equivalent_label",
)


def update_item(session: Session, code: str, *, actor_id: int | None, **changes: Any) -> list[str]:
    """Change an item's editable fields; returns the names of the fields that changed.

    Retreats cannot get CE hours, titles cannot be empty, and an item that another active
    item's rule names cannot be deactivated (that rule would then point at nothing).
    """
    item = get_item(session, code)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ItemEditError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    values = dict(changes)
    for name in ("title", "short_title", "format", "recommended_note", "equivalent_label"):
        if name in values:
            label = name.replace("_", " ").capitalize()
            try:
                values[name] = validation.single_line(
                    values[name], label, max_length=TEXT_LIMITS[name], required=name == "title"
                )
            except InvalidInput as error:
                raise ItemEditError(error.message, name) from None
    if "description" in values:
        try:
            values["description"] = validation.multi_line(
                values["description"], "Description", max_length=TEXT_LIMITS["description"]
            )
        except InvalidInput as error:
            raise ItemEditError(error.message, "description") from None
    if "ce_hours" in values:
        try:
            values["ce_hours"] = parse_ce_hours(values["ce_hours"])
        except InvalidInput as error:
            raise ItemEditError(f"CE hours: {error.message}.", "ce_hours") from None
        if values["ce_hours"] is not None and item.kind == ItemKind.RETREAT:
            raise ItemEditError(
                "CE hours: retreats carry no CE hours; leave the field empty.", "ce_hours"
            )
    if "position" in values:
        position = values["position"]
        if isinstance(position, bool) or not isinstance(position, int) or abs(position) > 1_000_000:
            raise ItemEditError("Position: must be a whole number.", "position")
    if "active" in values and not isinstance(values["active"], bool):
        raise ItemEditError("Active: must be yes or no.", "active")
    if values.get("active") is False and item.active:
        dependants = _active_dependants(session, code)
        if dependants:
            raise ItemEditError(
                f"Active: {_deactivation_refused(item.code, dependants)}; change those rules "
                "in the catalogue file first.",
                "active",
            )
    changed = [
        name
        for name in EDITABLE_FIELDS
        if name in values and not _same(getattr(item, name), values[name])
    ]
    for name in changed:
        setattr(item, name, values[name])
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="catalog.item_updated",
            subject_type="catalog_item",
            subject_id=item.id,
            code=item.code,
            fields=changed,
        )
        session.flush()
    return changed


def _active_dependants(session: Session, code: str) -> list[str]:
    """Codes of active items whose prerequisite or recommendation names `code`."""
    rows = session.execute(
        select(
            CatalogItem.code, CatalogItem.active, CatalogItem.prerequisite, CatalogItem.recommended
        )
    ).all()
    return dependants_of(code, [tuple(row) for row in rows])


def dependants_of(code: str, items: list[tuple[str, bool, Any, Any]]) -> list[str]:
    """Codes of the active items among (code, active, prerequisite, recommended) naming `code`.

    The one check behind "an item another active rule names stays active", for the admin's
    edit and for the catalogue file alike.
    """
    return sorted(
        other
        for other, active, prerequisite, recommended in items
        if active
        and other != code
        and code in rules.referenced_codes(prerequisite) | rules.referenced_codes(recommended)
    )


def _deactivation_refused(code: str, dependants: list[str]) -> str:
    """Why an item cannot be deactivated."""
    return f"{code} cannot be deactivated while the rules of {', '.join(dependants)} name it"


# --- page data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    """An offering (a retreat's session, a module's dated run) as catalogue pages show it."""

    starts_on: date
    ends_on: date
    location: str
    capacity: int
    enrolment_deadline: date | None
    active: bool
    id: int = 0
    online: bool = False


@dataclass(frozen=True)
class ItemView:
    """An item as pages show it: plain values, rules already put in words."""

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
    prerequisite_words: str
    recommended: dict[str, Any] | None
    recommended_words: str
    recommended_note: str
    equivalent_label: str
    certificate_design: str
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
        return "This rule is malformed; reload the catalogue file to correct it."


def _session_view(row: Offering) -> SessionView:
    """Plain values for one session."""
    return SessionView(
        row.starts_on,
        row.ends_on,
        row.location,
        row.capacity,
        row.enrolment_deadline,
        row.active,
        id=row.id,
        online=row.format == OfferingFormat.LIVE_ONLINE,
    )


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
        raise NotFound(f"There is no catalogue item with the code {code!r}.")
    names = {i.code: item_name(i) for i in items}
    required_by = tuple(
        sorted(
            other.code
            for other in items
            if other.code != code
            and code
            in rules.referenced_codes(other.prerequisite)
            | rules.referenced_codes(other.recommended)
        )
    )
    sessions = tuple(_session_view(s) for s in item.offerings)
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
            sessions=tuple(_session_view(s) for s in upcoming.get(item.id, [])),
        )
        for item in catalogue.items
    ]

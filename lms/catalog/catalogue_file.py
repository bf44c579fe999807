"""A catalogue file read and checked: every item, setting and registered part, with every
problem found reported together (CatalogError); nothing here writes."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from lms import validation
from lms.catalog import evaluation_form, rule_checks, rules
from lms.catalog.checks import (
    DESCRIPTIVE_ATTRIBUTES,
    TEXT_LIMITS,
    deactivation_refused,
    dependants_of,
    kind_of,
    parse_ce_hours,
)
from lms.catalog.models import (
    CatalogItem,
    ItemKind,
)
from lms.catalog.reading import DEFAULT_PROGRAMME_SETTINGS
from lms.clock import zone_named
from lms.errors import DomainError, InvalidInput
from lms.i18n import SETTING as LOCALE_SETTING
from lms.i18n import locale_problem

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")


@dataclass(frozen=True)
class FilePart:
    """A part of the catalogue file that a feature standing above the catalogue reads and
    keeps: some [programme] settings (checked by `check_programme_value`), extra fields of an
    accreditation statement, and one key of each [[items]] table (`item_key`). The item's
    value is checked with `check_item_value(raw or None, is_retreat, add_problem)` and kept
    with `apply_to_item(item, checked, is_new) -> changed` in the same transaction.

    The offerings feature registers its part (dated runs, the attendance policy) from its
    `subscribe()`, so the catalogue names none of its modules.
    """

    programme_keys: frozenset[str] = frozenset()
    check_programme_value: Callable[[str, Any], str | None] = lambda _key, _value: None
    statement_fields: Mapping[str, type] = field(default_factory=dict)
    item_key: str = ""
    check_item_value: Callable[[Any, bool, Callable[[str], None]], Any] = (
        lambda _raw, _is_retreat, _add: None
    )
    apply_to_item: Callable[[CatalogItem, Any, bool], bool] = lambda _item, _value, _new: False


FILE_PARTS: list[FilePart] = []


def register_file_part(part: FilePart) -> None:
    """Add a feature's part of the catalogue file (once)."""
    if part not in FILE_PARTS:
        FILE_PARTS.append(part)


def _item_fields() -> set[str]:
    """The keys an [[items]] table may hold: the catalogue's own and the registered parts'."""
    return ITEM_FIELDS | {part.item_key for part in FILE_PARTS if part.item_key}


class CatalogError(DomainError):
    """A catalogue file was refused; `problems` lists every reason, one line each."""

    status_code = 422

    def __init__(self, problems: list[str]) -> None:
        """Keep each problem; the message is all of them, one per line."""
        super().__init__("\n".join(problems))
        self.problems = list(problems)


# Attributes compared and written for each item, in the order the file's values map to them.
ITEM_ATTRIBUTES = (
    "kind",
    *DESCRIPTIVE_ATTRIBUTES,
    "prerequisite",
    "recommended",
    "recommended_note",
    "equivalent_label",
    "activity_id",
    "certificate_design",
    "certificate_valid_months",
    "active",
    *evaluation_form.ITEM_FIELDS,  # objectives and evaluation_required
)
# Every key an [[items]] table may hold.
ITEM_FIELDS = {"code", *ITEM_ATTRIBUTES}  # and each registered part's item_key
# Whole-number settings and their bounds: they feed date arithmetic (an expiry months ahead,
# a retention period years back), which overflows past year 9999.
YEARS_AND_MONTHS = {"retention_years": (1, 100), "certificate_valid_months": (0, 1200)}
# Programme settings that are one line of text on certificates and in mail, and their bounds.
SINGLE_LINE_SETTINGS = {
    "provider_name": 200,
    "partner_name": 200,
    "signatory_name": 200,
    "signatory_title": 200,
}
STATEMENT_LIMITS = {
    "body": 200,
    "statement": 5000,
    "credit_type": 200,
    "example": None,
    "number_label": 60,
    "number": 60,
    "credit_step": 10,
    "rounding": 10,
}
# How an accreditor's credits may be rounded (lms.certificates.credits).
CREDIT_ROUNDINGS = ("nearest", "down")


@dataclass
class ItemSpec:
    """An item as the file describes it, already converted to model values."""

    code: str
    values: dict[str, Any]
    parts: dict[str, Any]  # each registered part's checked value, by its item_key


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


def read_file(path: Path) -> tuple[dict[str, Any], list[ItemSpec]]:
    """Parse and validate the file, raising CatalogError with every problem found."""
    problems = _Problems(path)
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
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
    programme = _check_programme(data.get("programme", {}), problems, text)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.add("items", "expected at least one [[items]] table")
        raw_items = []

    specs: list[ItemSpec] = []
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
            for problem in rule_checks.validate_rule(spec.values[field_name], known):
                problems.add(f"item {spec.code}", f"field {field_name}: {problem}")
    if not problems.lines:
        cycle = rule_checks.find_cycle({spec.code: spec.values["prerequisite"] for spec in specs})
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


def _check_deactivations(specs: list[ItemSpec], problems: _Problems) -> None:
    """An item the file marks inactive must not be named by an active item's rules."""
    listed = [
        (spec.code, spec.values["active"], spec.values["prerequisite"], spec.values["recommended"])
        for spec in specs
    ]
    for spec in specs:
        if spec.values["active"] is False and (dependants := dependants_of(spec.code, listed)):
            problems.add(
                f"item {spec.code}", "field active: " + deactivation_refused(spec.code, dependants)
            )


def programme_keys() -> set[str]:
    """The settings a [programme] table may hold: the catalogue's own and the registered
    parts'."""
    return (
        set(DEFAULT_PROGRAMME_SETTINGS)
        | set(SINGLE_LINE_SETTINGS)
        | evaluation_form.PROGRAMME_KEYS
        | {key for part in FILE_PARTS for key in part.programme_keys}
    )


def _check_programme(raw: Any, problems: _Problems, text: str) -> dict[str, Any]:
    """Validate the [programme] table and return JSON-ready settings."""
    if not isinstance(raw, dict):
        problems.add("programme", "expected a [programme] table")
        return {}
    settings: dict[str, Any] = {}
    known = programme_keys()
    for key, value in raw.items():
        where = f"programme field {key}"
        if key not in known:
            # A misspelt setting would otherwise be kept, and counted as a change, while the
            # one meant keeps its old value.
            line = _line_of_setting(text, key)
            problems.add(
                f"{where} (line {line})" if line else where,
                f"unknown setting; expected one of {', '.join(sorted(known))}",
            )
            continue
        if key in YEARS_AND_MONTHS:
            minimum, maximum = YEARS_AND_MONTHS[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not minimum <= value <= maximum
            ):
                problems.add(where, f"expected a whole number from {minimum} to {maximum}")
                continue
        elif key == "accreditation_statements":
            value = _check_statements(value, where, problems)
            if value is None:
                continue
        elif part := next((p for p in FILE_PARTS if key in p.programme_keys), None):
            if problem := part.check_programme_value(key, value):
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
        elif key == LOCALE_SETTING:
            if problem := locale_problem(value):
                problems.add(where, problem)
                continue
        elif key in DEFAULT_PROGRAMME_SETTINGS and not isinstance(value, str):
            problems.add(where, f"expected text, got {kind_of(value)}")
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


TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _line_of_setting(text: str, key: str) -> int | None:
    """The line (from 1) that sets `key` in the [programme] table, or None when it is set some
    other way (an inline table, a quoted key with escapes)."""
    table = ""
    spellings = (key, f'"{key}"', f"'{key}'")
    for number, line in enumerate(text.splitlines(), start=1):
        if header := TABLE_HEADER.match(line):
            table = header.group(1).replace(" ", "")
            continue
        name = line.split("=", 1)[0].strip() if "=" in line else None
        if table == "programme" and name in spellings:
            return number
        if table == "" and name in {f"programme.{k}" for k in spellings}:
            return number
    return None


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
    allowed = {
        "body": str,
        "statement": str,
        "credit_type": str,
        "example": bool,
        "number_label": str,
        "number": str,
        "credit_step": str,
        "rounding": str,
    }
    for part in FILE_PARTS:
        allowed.update(part.statement_fields)
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
        if problem := _credit_rule_problem(entry):
            problems.add(here, problem)
            ok = False
    return value if ok else None


def _credit_rule_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with a statement's credit step or rounding, None when nothing is."""
    step = entry.get("credit_step")
    if isinstance(step, str) and step.strip():
        try:
            if not 0 < Decimal(step.strip()) <= 10:
                raise InvalidOperation
        except InvalidOperation:
            return f'field credit_step: expected a number of hours such as "0.25", got {step!r}'
    rounding = entry.get("rounding")
    if isinstance(rounding, str) and rounding.strip() not in ("", *CREDIT_ROUNDINGS):
        return f"field rounding: expected one of {', '.join(CREDIT_ROUNDINGS)}, got {rounding!r}"
    return None


def _check_item(raw: Any, index: int, problems: _Problems) -> ItemSpec | None:
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
    allowed = _item_fields()
    for key in sorted(set(raw) - allowed):
        hint = " ([[items.sessions]] are now [[items.offerings]])" if key == "sessions" else ""
        problems.add(
            where,
            f"field {key}: unknown field{hint}; expected one of {', '.join(sorted(allowed))}",
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
            problems.add(where, f"field {name}: expected text, got {kind_of(value)}")
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
        problems.add(where, f"field position: expected a whole number, got {kind_of(position)}")
    values["position"] = position

    for name in ("prerequisite", "recommended"):
        rule = raw.get(name)
        if rule is not None and not isinstance(rule, dict):
            problems.add(where, f"field {name}: expected a rule table, got {kind_of(rule)}")
            rule = None
        values[name] = rule

    months = raw.get("certificate_valid_months")
    most = YEARS_AND_MONTHS["certificate_valid_months"][1]
    if months is not None and (
        isinstance(months, bool) or not isinstance(months, int) or not 0 <= months <= most
    ):
        problems.add(
            where, f"field certificate_valid_months: expected a whole number from 0 to {most}"
        )
    values["certificate_valid_months"] = months

    active = raw.get("active", True)
    if not isinstance(active, bool):
        problems.add(where, f"field active: expected true or false, got {kind_of(active)}")
    values["active"] = active
    values.update(evaluation_form.check_item_fields(raw, partial(problems.add, where)))

    parts = {
        part.item_key: part.check_item_value(
            raw.get(part.item_key), kind == ItemKind.RETREAT, partial(problems.add, where)
        )
        for part in FILE_PARTS
        if part.item_key
    }

    if len(problems.lines) > before:
        return ItemSpec(code=code, values=values, parts={})  # still counts for references
    return ItemSpec(code=code, values=values, parts=parts)


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

"""Checks the catalogue file's loader and the item editor share: CE hours, text bounds, how
values compare, and which active items depend on one being switched off."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lms.catalog import rule_checks
from lms.errors import InvalidInput

MAX_CE_HOURS = Decimal("9999.99")
_HOURS = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def parse_ce_hours(value: Any) -> Decimal | None:
    """CE hours from a file or a form: None/"" for none, else 0-9999.99 in 0.01 steps."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidInput(f"expected a number of hours, got {kind_of(value)}")
    text = str(value).strip()
    # ASCII digits only, bounded: Decimal also takes "1_000", "1e999999" and other scripts' digits.
    if len(text) > 20 or not _HOURS.fullmatch(text):
        shown = value if len(text) <= 20 else text[:20] + "…"
        raise InvalidInput(f"{shown!r} is not a number of hours")
    hours = Decimal(text)
    if hours < 0:
        raise InvalidInput("CE hours must be zero or more")
    if hours > MAX_CE_HOURS:
        raise InvalidInput(f"CE hours must be at most {MAX_CE_HOURS}")
    if hours != hours.quantize(Decimal("0.01")):
        raise InvalidInput("CE hours take at most two decimals (for example 7.25)")
    return hours


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
        and code
        in rule_checks.referenced_codes(prerequisite) | rule_checks.referenced_codes(recommended)
    )


def deactivation_refused(code: str, dependants: list[str]) -> str:
    """Why an item cannot be deactivated."""
    return f"{code} cannot be deactivated while the rules of {', '.join(dependants)} name it"


# The item's descriptive columns, in order: both the catalogue file and the item editor set them.
DESCRIPTIVE_ATTRIBUTES = ("title", "short_title", "description", "format", "ce_hours", "position")

TEXT_LIMITS = {
    "title": 200,
    "short_title": 80,
    "description": 20_000,
    "format": 80,
    "recommended_note": 300,
    "equivalent_label": 200,
    "certificate_design": 40,
    "activity_id": 60,
}


def same_value(current: Any, wanted: Any) -> bool:
    """Equality that treats 8 and 8.00 hours alike and enum members like their values."""
    if isinstance(current, Decimal) or isinstance(wanted, Decimal):
        if current is None or wanted is None:
            return current is wanted
        return Decimal(current) == Decimal(wanted)
    return current == wanted


# Names of the kinds of value a TOML file may hold, tried in order (true/false before numbers,
# a date and time before a date).
TOML_KINDS: tuple[tuple[Any, str], ...] = (
    (bool, "true/false"),
    (datetime, "a date and time"),
    (date, "a date"),
    (int | float, "a number"),
    (list, "a list"),
    (Mapping, "a table"),
)


def kind_of(value: Any) -> str:
    """A short name of a TOML value's type for messages (text is quoted)."""
    if isinstance(value, str):
        return f"text {value!r}"
    return rule_checks.named_kind(value, TOML_KINDS)

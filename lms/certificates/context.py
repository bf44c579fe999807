"""What a certificate or transcript says, built as a plain dict from plain values (no Flask)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lms.progress.api import total_hours

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PAGE_SIZES = {"a4": "A4", "letter": "Letter"}
CERTIFICATE_DESIGNS = ("module", "retreat")
TRANSCRIPT_DESIGN = "transcript"
DEFAULT_FORMATS = {"retreat": "In person", "module": "Live online (video)"}
DEFAULT_CE_TYPE = "CE contact hours"

# Character counts at which a printed field steps down one type size, so that the longest
# name the form accepts (200 characters) still fits on the page.
NAME_STEPS = ((28, "s"), (45, "m"), (70, "l"), (120, "xl"))
TITLE_STEPS = ((40, "s"), (70, "m"), (120, "l"))


@dataclass(frozen=True)
class Holder:
    """The person a certificate is for, as their account says at issue."""

    name: str
    credentials: str = ""
    licence_type: str | None = None
    licence_number: str | None = None
    licence_state: str | None = None


@dataclass(frozen=True)
class ItemFacts:
    """The catalogue item a certificate is for."""

    code: str
    title: str
    kind: str
    format: str = ""
    ce_hours: Decimal | None = None


@dataclass(frozen=True)
class TranscriptRow:
    """One live completion on a transcript."""

    code: str
    title: str
    kind_label: str
    completed_on: date
    ce_hours: Decimal | None
    serial: str | None = None


def format_date(day: date | None) -> str:
    """A date as printed on certificates, e.g. `September 4, 2024` ("" for none)."""
    if day is None:
        return ""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def format_hours(hours: Decimal | int | float | str | None) -> str:
    """Hours without trailing zeros: 7.50 -> `7.5`, 41.00 -> `41`, 0.25 -> `0.25`."""
    if hours is None:
        return ""
    value = Decimal(str(hours))
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def length_class(text: str, steps: tuple[tuple[int, str], ...]) -> str:
    """The size class for a printed field: the first step whose length limit it fits."""
    length = len(text)
    for limit, name in steps:
        if length <= limit:
            return name
    return "xxl"


def licence_line(holder: Holder) -> str:
    """`Licence: LCSW no. LC12345 (CA)`, or "" when no licence number is known."""
    if not holder.licence_number:
        return ""
    kind = f"{holder.licence_type} " if holder.licence_type else ""
    state = f" ({holder.licence_state})" if holder.licence_state else ""
    return f"Licence: {kind}no. {holder.licence_number}{state}"


def _lines(value: Any) -> list[str]:
    """A setting given as one string (newline or comma separated) or a list, as lines."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.splitlines() if "\n" in value else [value]
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, Iterable):
        return [line for v in value if (line := _statement_text(v))]
    return [str(value)]


def _statement_text(value: Any) -> str:
    """One accreditation statement: a string, or a table with a `statement` (or `text`) key."""
    if isinstance(value, Mapping):
        value = value.get("statement") or value.get("text") or ""
    return str(value).strip()


def _first(settings: Mapping[str, Any], *keys: str) -> Any:
    """The first of the keys present (nested keys written `a.b`)."""
    for key in keys:
        node: Any = settings
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                node = None
                break
            node = node[part]
        if node not in (None, "", [], {}):
            return node
    return None


def programme_facts(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The provider, accreditation, signatory and page size a design prints, from the settings."""
    signatory = _first(settings, "signatory")
    if isinstance(signatory, Mapping):
        signatory_name = str(signatory.get("name", "") or "")
        signatory_title = str(signatory.get("title", "") or "")
    else:
        signatory_name = str(signatory or _first(settings, "signatory_name") or "")
        signatory_title = str(_first(settings, "signatory_title") or "")
    statements = _first(
        settings,
        "accreditation_statements",
        "accreditation.statements",
        "accreditation",
        "ce_statements",
    )
    page = str(_first(settings, "certificate_page_size", "page_size") or "A4").strip().lower()
    return {
        "provider_name": str(
            _first(settings, "provider_name", "provider.name") or "KAP Training Programme"
        ),
        "provider_address": _lines(_first(settings, "provider_address", "provider.address")),
        "statements": _lines(statements),
        "signatory_name": signatory_name,
        "signatory_title": signatory_title,
        "ce_type": str(_first(settings, "ce_credit_type", "ce_type") or DEFAULT_CE_TYPE),
        "page_size": PAGE_SIZES.get(page, "A4"),
    }


def certificate_content(
    *,
    design: str,
    holder: Holder,
    item: ItemFacts,
    completed_on: date,
    issued_on: date,
    expires_on: date | None,
    serial: str,
    code: str,
    verify_url: str,
    programme: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything a certificate says, as JSON-ready values: frozen into the issue record.

    Dates are the programme's (lms.clock.local_date of the issue and expiry timestamps).
    """
    facts = programme_facts(programme)
    with_ce = design != "retreat" and item.ce_hours is not None and item.kind != "retreat"
    return {
        "design": design,
        "holder_name": holder.name,
        "credentials": holder.credentials,
        "licence_number": holder.licence_number or "",
        "licence_line": licence_line(holder),
        "item_code": item.code,
        "title": item.title,
        "format": item.format or DEFAULT_FORMATS["retreat" if item.kind == "retreat" else "module"],
        "completed_on": completed_on.isoformat(),
        "completed_on_text": format_date(completed_on),
        "ce_hours": format_hours(item.ce_hours) if with_ce else "",
        "ce_type": facts["ce_type"] if with_ce else "",
        "statements": facts["statements"] if with_ce else [],
        "provider_name": facts["provider_name"],
        "provider_address": facts["provider_address"],
        "signatory_name": facts["signatory_name"],
        "signatory_title": facts["signatory_title"],
        "page_size": facts["page_size"],
        "serial": serial,
        "code": code,
        "verify_url": verify_url,
        "issued_on": issued_on.isoformat(),
        "issued_on_text": format_date(issued_on),
        "expires_on": expires_on.isoformat() if expires_on else "",
        "expires_on_text": format_date(expires_on) if expires_on else "",
    }


def layout_classes(content: Mapping[str, Any]) -> dict[str, str]:
    """Type-size classes for the fields whose length varies most."""
    name = content.get("holder_name", "")
    if content.get("credentials"):
        name = f"{name}, {content['credentials']}"
    title = content.get("title", "")
    statements = sum(len(s) for s in content.get("statements", []))
    # Each long part takes vertical room, so the spacing around them tightens as they add up.
    long_parts = (len(name) > 70) + (len(title) > 70) + (statements > 300)
    return {
        "name_class": "name-" + length_class(name, NAME_STEPS),
        "title_class": "title-" + length_class(title, TITLE_STEPS),
        "density_class": ("roomy", "dense", "denser", "densest")[long_parts],
    }


def transcript_content(
    *,
    holder: Holder,
    rows: Iterable[TranscriptRow],
    generated_on: date,
    programme: Mapping[str, Any],
) -> dict[str, Any]:
    """A transcript: every live completion in date order with its CE hours, and the total."""
    facts = programme_facts(programme)
    ordered = sorted(rows, key=lambda r: (r.completed_on, r.title))
    total = total_hours(r.ce_hours for r in ordered)
    return {
        "holder_name": holder.name,
        "credentials": holder.credentials,
        "licence_line": licence_line(holder),
        "rows": [
            {
                "code": r.code,
                "title": r.title,
                "kind_label": r.kind_label,
                "completed_on_text": format_date(r.completed_on),
                "ce_hours": format_hours(r.ce_hours) if r.ce_hours is not None else "",
                "serial": r.serial or "",
            }
            for r in ordered
        ],
        "total_ce_hours": format_hours(total),
        "ce_type": facts["ce_type"],
        "generated_on_text": format_date(generated_on),
        "provider_name": facts["provider_name"],
        "provider_address": facts["provider_address"],
        "signatory_name": facts["signatory_name"],
        "signatory_title": facts["signatory_title"],
        "page_size": facts["page_size"],
    }

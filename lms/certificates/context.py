"""What a certificate or transcript says, built as a plain dict from plain values (no Flask)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lms.certificates.credits import (
    accreditations_of,
    credits_for,
    printed_accreditations,
    signatories_of,
    signatory_line,
)
from lms.i18n import SETTING as LOCALE_SETTING
from lms.i18n import hours_text, locale_or_default, long_date, translate
from lms.progress.api import total_hours

PAGE_SIZES = {"a4": "A4", "letter": "Letter"}
CERTIFICATE_DESIGNS = ("module", "retreat")
# The programme credential's own design (an award, never a catalogue item's choice).
CREDENTIAL_DESIGN = "training"
CREDENTIAL_FORMAT = "Programme credential"
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
    activity_id: str = ""


@dataclass(frozen=True)
class ActivityFacts:
    """The run a completion came from (an offering): its days, where, how, and who taught."""

    days: tuple[date, ...]
    location: str = ""
    format: str = ""
    facilitators: tuple[str, ...] = ()


@dataclass(frozen=True)
class TranscriptRow:
    """One live completion on a transcript."""

    code: str
    title: str
    kind_label: str
    completed_on: date
    ce_hours: Decimal | None
    serial: str | None = None


def format_date(day: date | None, locale: str | None = None) -> str:
    """A date as printed on certificates, in the programme locale (the current one unless
    given): en-US `September 4, 2024`, en-GB `4 September 2024` ("" for none)."""
    if day is None:
        return ""
    return long_date(day, locale)


def format_hours(hours: Decimal | int | float | str | None, locale: str | None = None) -> str:
    """Hours without trailing zeros: 7.50 -> `7.5`, 41.00 -> `41`, 0.25 -> `0.25`."""
    if hours is None:
        return ""
    return hours_text(hours, locale)


def length_class(text: str, steps: tuple[tuple[int, str], ...]) -> str:
    """The size class for a printed field: the first step whose length limit it fits."""
    length = len(text)
    for limit, name in steps:
        if length <= limit:
            return name
    return "xxl"


def licence_line(holder: Holder, locale: str | None = None) -> str:
    """`License: LCSW no. LC12345 (CA)` (en-GB `Licence: ...`), or "" when no licence number
    is known."""
    if not holder.licence_number:
        return ""
    kind = f"{holder.licence_type} " if holder.licence_type else ""
    state = f" ({holder.licence_state})" if holder.licence_state else ""
    return f"{translate('Licence', locale)}: {kind}no. {holder.licence_number}{state}"


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
    """The provider, accreditation, signatories and page size a design prints, from the
    settings (newer keys first, the older shapes still read)."""
    signatories = signatories_of(settings)
    first = signatories[0] if signatories else {}
    accreditations = accreditations_of(settings)
    if not accreditations:
        accreditations = [
            {"statement": line}
            for line in _lines(
                _first(settings, "accreditation.statements", "accreditation", "ce_statements")
            )
        ]
    page = str(_first(settings, "certificate_page_size", "page_size") or "A4").strip().lower()
    return {
        "provider_name": str(
            _first(settings, "provider_name", "provider.name") or "KAP Training Programme"
        ),
        "provider_address": _lines(_first(settings, "provider_address", "provider.address")),
        "provider_logo": str(settings.get("provider_logo") or ""),
        "accreditations": accreditations,
        "statements": [entry["statement"] for entry in accreditations],
        "signatories": signatories,
        "signatory_name": first.get("name", ""),
        "signatory_title": first.get("title", ""),
        "ce_type": str(_first(settings, "ce_credit_type", "ce_type") or DEFAULT_CE_TYPE),
        "page_size": PAGE_SIZES.get(page, "A4"),
        "locale": locale_or_default(settings.get(LOCALE_SETTING)),
    }


def dates_text(days: Iterable[date], locale: str | None = None) -> str:
    """The days an activity ran as printed in the locale: one date, `first – last` for
    consecutive days, else each date."""
    ordered = sorted(set(days))
    if not ordered:
        return ""
    if len(ordered) == 1:
        return format_date(ordered[0], locale)
    consecutive = all((b - a).days == 1 for a, b in zip(ordered, ordered[1:], strict=False))
    if consecutive:
        return f"{format_date(ordered[0], locale)} – {format_date(ordered[-1], locale)}"
    return "; ".join(format_date(day, locale) for day in ordered)


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
    activity: ActivityFacts | None = None,
) -> dict[str, Any]:
    """Everything a certificate says, as JSON-ready values: frozen into the issue record.

    Dates are the programme's (lms.clock.local_date of the issue and expiry timestamps). The
    activity's dates are its offering's days when it came from one, else the completion date.
    """
    facts = programme_facts(programme)
    locale = facts["locale"]
    with_ce = design != "retreat" and item.ce_hours is not None and item.kind != "retreat"
    days = tuple(activity.days) if activity and activity.days else (completed_on,)
    item_format = item.format or DEFAULT_FORMATS["retreat" if item.kind == "retreat" else "module"]
    return {
        "design": design,
        "locale": locale,
        "holder_name": holder.name,
        "credentials": holder.credentials,
        "licence_number": holder.licence_number or "",
        "licence_line": licence_line(holder, locale),
        "item_code": item.code,
        "title": item.title,
        "format": (activity.format if activity and activity.format else item_format),
        "completed_on": completed_on.isoformat(),
        "completed_on_text": format_date(completed_on, locale),
        "ce_hours": format_hours(item.ce_hours, locale) if with_ce else "",
        "ce_type": facts["ce_type"] if with_ce else "",
        "statements": facts["statements"] if with_ce else [],
        "provider_name": facts["provider_name"],
        "provider_address": facts["provider_address"],
        "signatory_name": facts["signatory_name"],
        "signatory_title": facts["signatory_title"],
        "page_size": facts["page_size"],
        "activity_id": item.activity_id or item.code,
        "activity_dates": [day.isoformat() for day in sorted(set(days))],
        "activity_dates_text": dates_text(days, locale),
        "location": activity.location if activity else "",
        "credits": credits_for(item.ce_hours, facts["accreditations"], facts["ce_type"])
        if with_ce
        else [],
        "accreditations": printed_accreditations(facts["accreditations"]) if with_ce else [],
        "signatories": facts["signatories"],
        "facilitators": list(activity.facilitators) if activity else [],
        "provider_logo": facts["provider_logo"],
        "serial": serial,
        "code": code,
        "verify_url": verify_url,
        "issued_on": issued_on.isoformat(),
        "issued_on_text": format_date(issued_on, locale),
        "expires_on": expires_on.isoformat() if expires_on else "",
        "expires_on_text": format_date(expires_on, locale) if expires_on else "",
    }


def credential_content(
    *,
    holder: Holder,
    code: str,
    title: str,
    attests: Iterable[str],
    awarded_on: date,
    issued_on: date,
    serial: str,
    verification_code: str,
    verify_url: str,
    programme: Mapping[str, Any],
) -> dict[str, Any]:
    """What an award certificate says: the keys every certificate has (so the verify page,
    the Open Badge and the lists read it unchanged; no CE), and the parts it attests."""
    content = certificate_content(
        design=CREDENTIAL_DESIGN,
        holder=holder,
        item=ItemFacts(code=code, title=title, kind="credential", format=CREDENTIAL_FORMAT),
        completed_on=awarded_on,
        issued_on=issued_on,
        expires_on=None,
        serial=serial,
        code=verification_code,
        verify_url=verify_url,
        programme=programme,
    )
    content["activity_id"] = ""
    content["attests"] = [str(line) for line in attests]
    return content


def printable(content: Mapping[str, Any]) -> dict[str, Any]:
    """A frozen content with every key the designs print: a certificate issued before a key
    existed gets it from what it did say (its completion date, CE hours, statements and
    signatory), never from today's settings."""
    filled = dict(content)
    if "activity_dates" not in filled:
        completed = filled.get("completed_on", "")
        filled["activity_dates"] = [completed] if completed else []
        filled["activity_dates_text"] = filled.get("completed_on_text", "")
    filled.setdefault("activity_id", filled.get("item_code", ""))
    filled.setdefault("location", "")
    filled.setdefault("facilitators", [])
    filled.setdefault("provider_logo", "")
    if "credits" not in filled:
        hours = filled.get("ce_hours", "")
        filled["credits"] = (
            [{"type": filled.get("ce_type", ""), "amount": hours, "amount_text": hours}]
            if hours
            else []
        )
    if "accreditations" not in filled:
        filled["accreditations"] = printed_accreditations(
            {"statement": line} for line in filled.get("statements", [])
        )
    if "signatories" not in filled:
        name = filled.get("signatory_name", "")
        title = filled.get("signatory_title", "")
        filled["signatories"] = (
            [{"name": name, "credentials": "", "title": title, "signature": ""}]
            if name and not title.startswith(name)
            else []
        )
    return filled


def layout_classes(content: Mapping[str, Any]) -> dict[str, str]:
    """Type-size classes for the fields whose length varies most."""
    name = content.get("holder_name", "")
    if content.get("credentials"):
        name = f"{name}, {content['credentials']}"
    title = content.get("title", "")
    statements = sum(len(s) for s in content.get("statements", []))
    statements += sum(len(c.get("number", "")) + 20 for c in content.get("accreditations", []))
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
    locale = facts["locale"]
    ordered = sorted(rows, key=lambda r: (r.completed_on, r.title))
    total = total_hours(r.ce_hours for r in ordered)
    return {
        "locale": locale,
        "holder_name": holder.name,
        "credentials": holder.credentials,
        "licence_line": licence_line(holder, locale),
        "rows": [
            {
                "code": r.code,
                "title": r.title,
                "kind_label": r.kind_label,
                "completed_on_text": format_date(r.completed_on, locale),
                "ce_hours": format_hours(r.ce_hours, locale) if r.ce_hours is not None else "",
                "serial": r.serial or "",
            }
            for r in ordered
        ],
        "total_ce_hours": format_hours(total, locale),
        "ce_type": facts["ce_type"],
        "generated_on_text": format_date(generated_on, locale),
        "provider_name": facts["provider_name"],
        "provider_address": facts["provider_address"],
        "signatory_name": facts["signatory_name"],
        "signatory_title": facts["signatory_title"],
        "certified_by": [signatory_line(person) for person in facts["signatories"]],
        "page_size": facts["page_size"],
    }

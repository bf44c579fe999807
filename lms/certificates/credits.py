"""Credits, accreditations and signatories as a certificate prints them, from the programme's
settings (pure: no Flask, no database).

Each accreditor rounds the hours its own way: AMA PRA Category 1 Credit™ is designated in
0.25 steps, rounded to the nearest quarter (a tie goes down, so a certificate never claims
more than the time spent); an accreditation may give its own `credit_step` and
`rounding` ("nearest" or "down"). Others keep the hours to the hundredth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, Decimal, InvalidOperation
from typing import Any

AMA_STEP = Decimal("0.25")
DEFAULT_STEP = Decimal("0.01")
ROUNDINGS = {"nearest": ROUND_HALF_DOWN, "down": ROUND_DOWN}
DEFAULT_NUMBER_LABEL = "Approval number"
SIGNATORY_FIELDS = ("name", "credentials", "title", "signature")


def _text(value: Any) -> str:
    """A setting's value as one trimmed line ("" for none)."""
    return "" if value is None else str(value).strip()


def credit_step(accreditation: Mapping[str, Any]) -> Decimal:
    """The step an accreditation's credits go in: its own `credit_step`, else 0.25 for AMA PRA
    Category 1, else hundredths."""
    given = accreditation.get("credit_step")
    if given not in (None, ""):
        try:
            step = Decimal(str(given))
        except InvalidOperation:
            step = DEFAULT_STEP
        if step > 0:
            return step
    named = f"{accreditation.get('body', '')} {accreditation.get('credit_type', '')}".upper()
    return AMA_STEP if "AMA PRA" in named else DEFAULT_STEP


def round_credit(
    hours: Decimal | int | float | str, step: Decimal, rounding: str = "nearest"
) -> Decimal:
    """Hours rounded to a whole number of `step`s: to the nearest (a tie goes down) or down."""
    value = Decimal(str(hours))
    steps = (value / step).quantize(Decimal(1), rounding=ROUNDINGS.get(rounding, ROUND_HALF_DOWN))
    return (steps * step).quantize(DEFAULT_STEP)


def amount_text(amount: Decimal) -> str:
    """An amount without trailing zeros: 8.75, 9, 3.5."""
    text = format(amount.quantize(DEFAULT_STEP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def accreditations_of(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The programme's accreditations (key "accreditations", else the catalogue file's
    "accreditation_statements"), each a table; a plain string is a statement alone."""
    raw = settings.get("accreditations") or settings.get("accreditation_statements") or []
    if isinstance(raw, str | Mapping):
        raw = [raw]
    found: list[dict[str, Any]] = []
    for entry in raw if isinstance(raw, Iterable) else []:
        table = dict(entry) if isinstance(entry, Mapping) else {"statement": _text(entry)}
        statement = _text(table.get("statement") or table.get("text"))
        if not statement:
            continue
        table["statement"] = statement
        found.append(table)
    return found


def printed_accreditations(accreditations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a certificate prints of each accreditation: body, statement and its number."""
    printed = []
    for entry in accreditations:
        number = _text(entry.get("number"))
        printed.append(
            {
                "body": _text(entry.get("body")),
                "statement": _text(entry.get("statement")),
                "number_label": (_text(entry.get("number_label")) or DEFAULT_NUMBER_LABEL)
                if number
                else "",
                "number": number,
                "example": bool(entry.get("example", False)),
            }
        )
    return printed


def credits_for(
    hours: Decimal | None, accreditations: Iterable[Mapping[str, Any]], ce_type: str
) -> list[dict[str, str]]:
    """The credits a certificate prints: one per credit type the accreditations name, each
    rounded as that accreditor requires; the programme's CE type when none names one."""
    if hours is None:
        return []
    credits: list[dict[str, str]] = []
    seen: set[str] = set()
    for entry in accreditations:
        kind = _text(entry.get("credit_type"))
        if not kind or kind in seen:
            continue
        seen.add(kind)
        rounding = _text(entry.get("rounding")) or "nearest"
        amount = round_credit(hours, credit_step(entry), rounding)
        credits.append({"type": kind, "amount": str(amount), "amount_text": amount_text(amount)})
    if not credits:
        amount = round_credit(hours, DEFAULT_STEP)
        credits.append({"type": ce_type, "amount": str(amount), "amount_text": amount_text(amount)})
    return credits


def signatories_of(settings: Mapping[str, Any]) -> list[dict[str, str]]:
    """The named people who sign (key "signatories"), else the older single signatory.

    Only a person with a name signs: an older setting whose "name" is only the start of its
    title ("Director of Training" / "Director of Training, ...") names nobody, so it prints
    no signature line rather than a title twice.
    """
    raw = settings.get("signatories")
    if isinstance(raw, list):
        people = [
            {field: _text(entry.get(field)) for field in SIGNATORY_FIELDS}
            for entry in raw
            if isinstance(entry, Mapping)
        ]
        return [person for person in people if person["name"]]
    legacy = settings.get("signatory")
    if isinstance(legacy, Mapping):
        name, title = _text(legacy.get("name")), _text(legacy.get("title"))
    else:
        name = _text(legacy or settings.get("signatory_name"))
        title = _text(settings.get("signatory_title"))
    if not name or (title and title.startswith(name)):
        return []
    return [{"name": name, "credentials": "", "title": title, "signature": ""}]


def signatory_line(person: Mapping[str, Any]) -> str:
    """`Dr Sam Signer, PhD, Director of Training` (name, credentials and title as given)."""
    return ", ".join(
        part for part in (_text(person.get(f)) for f in ("name", "credentials", "title")) if part
    )

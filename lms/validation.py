"""One check of free text and dates for every way in: web forms, CLI imports, catalogue files.

Single-line text (names, titles, locations, signatory fields...) is trimmed, bounded, holds no
control character (no NUL, CR, LF or tab, no bidi override) and must show something: a value
made only of zero-width or other invisible characters is refused. Multi-line text (notes,
descriptions, reasons) may hold line breaks and tabs but no other control character (NUL
above all: PostgreSQL refuses it) and is bounded. Dates lie between 1900 and 2100, so no
arithmetic on a date overflows and no typo such as 0001-01-01 is stored. Whole numbers and
decimals are written in ASCII digits and bounded by their text's length before they are
converted or compared (a 400-digit number overflows wtforms' range check; a fullwidth or
Arabic-Indic digit is not a digit here), and no bound goes beyond PostgreSQL's INTEGER. This
module imports nothing from Flask: the forms (lms/forms.py), the URL bounds (lms/bounds.py),
the importers and the catalogue loader call it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from lms import dates
from lms.errors import InvalidInput

SINGLE_LINE_MAX = 200
MULTI_LINE_MAX = 20_000
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# PostgreSQL's INTEGER, the widest whole-number column of the schema (ids, places, positions):
# no bound of a number from outside may go beyond it, or the value would not even bind.
INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")

# Zero-width and blank-looking characters trimmed from both ends like spaces. Combining
# marks are not trimmed (a decomposed "José" ends with one) but cannot make a value alone.
_TRIMMED = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u2060\u2061\u2062\u2063\u2064\u3164\u2800\ufeff\uffa0"
)
# Bidi embeddings, overrides and isolates reorder what is shown ("Trojan source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = frozenset("\u2028\u2029")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"})
_MULTI_LINE_ALLOWED_CONTROLS = frozenset("\t\n\r")

CONTROL_MESSAGE = "Use one line of text, without line breaks, tabs or control characters."
INVISIBLE_MESSAGE = "Use visible characters (letters, digits or punctuation)."
MULTI_LINE_CONTROL_MESSAGE = "Remove the control characters (such as NUL) from the text."


def trim(value: str) -> str:
    """The value without spaces and zero-width characters at either end."""
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or value[start] in _TRIMMED):
        start += 1
    while end > start and (value[end - 1].isspace() or value[end - 1] in _TRIMMED):
        end -= 1
    return value[start:end]


def without_invisible(value: str) -> str:
    """The value with every zero-width or other invisible format character removed, wherever
    it stands: for identifiers (e-mail addresses), where such a character can only disguise."""
    return "".join(
        char for char in value if char not in _TRIMMED and unicodedata.category(char) != "Cf"
    )


def _is_invisible(char: str) -> bool:
    """Whether a character shows nothing on its own."""
    return char in _TRIMMED or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def line_problem(value: str, max_length: int | None = SINGLE_LINE_MAX) -> str | None:
    """What is wrong with an (already trimmed) single-line value, or None; "" is fine."""
    for char in value:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs"} or char in _BIDI_CONTROLS or char in _LINE_SEPARATORS:
            return CONTROL_MESSAGE
    if value and all(_is_invisible(char) for char in value):
        return INVISIBLE_MESSAGE
    if max_length is not None and len(value) > max_length:
        return f"At most {max_length} characters (this has {len(value)})."
    return None


def text_problem(value: str, max_length: int | None = MULTI_LINE_MAX) -> str | None:
    """What is wrong with a multi-line value (line breaks and tabs allowed), or None."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and char not in _MULTI_LINE_ALLOWED_CONTROLS):
            return MULTI_LINE_CONTROL_MESSAGE
    if max_length is not None and len(value) > max_length:
        return f"At most {max_length} characters (this has {len(value)})."
    return None


def date_problem(value: date) -> str | None:
    """What is wrong with a date (outside 1900-2100), or None."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return (
            f"Give a date between {dates.day(EARLIEST_DATE)} and {dates.day(LATEST_DATE)} "
            f"(got {dates.day(value)})."
        )
    return None


def single_line(
    value: str | None, label: str, *, max_length: int = SINGLE_LINE_MAX, required: bool = False
) -> str:
    """The trimmed value, or InvalidInput naming `label` (for services, CLI and loader)."""
    text = trim(value or "")
    if required and not text:
        raise InvalidInput(f"{label}: cannot be empty.")
    problem = line_problem(text, max_length)
    if problem:
        raise InvalidInput(f"{label}: {_lower_first(problem)}")
    return text


def multi_line(value: str | None, label: str, *, max_length: int = MULTI_LINE_MAX) -> str:
    """The value unchanged, or InvalidInput naming `label`."""
    text = value or ""
    problem = text_problem(text, max_length)
    if problem:
        raise InvalidInput(f"{label}: {_lower_first(problem)}")
    return text


def sensible_date(value: date, label: str) -> date:
    """The date, or InvalidInput naming `label` when it lies outside 1900-2100."""
    problem = date_problem(value)
    if problem:
        raise InvalidInput(f"{label}: {_lower_first(problem)}")
    return value


def _lower_first(text: str) -> str:
    """A message continued after a label ("Title: at most ...")."""
    return text[:1].lower() + text[1:]


def check_integer_bounds(minimum: int, maximum: int) -> None:
    """Refuse (ValueError: a programming error) bounds a database INTEGER cannot hold."""
    if not INTEGER_MIN <= minimum <= maximum <= INTEGER_MAX:
        raise ValueError(f"bounds {minimum}..{maximum} do not fit a database INTEGER")


def whole_number_or_none(text: str | None, *, minimum: int, maximum: int) -> int | None:
    """The whole number `text` writes (ASCII digits, an optional minus, spaces around), when it
    lies in [minimum, maximum]; else None.

    Text longer than the longest number in range is refused before it is converted, so no
    huge number is ever built or compared.
    """
    check_integer_bounds(minimum, maximum)
    text = (text or "").strip()
    widest = max(len(str(minimum)), len(str(maximum)))
    if len(text) > widest or not _WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def whole_number_message(minimum: int, maximum: int) -> str:
    """What a refused whole number should have been."""
    return f"Enter a whole number from {minimum:,} to {maximum:,}."


def whole_number(text: str | None, label: str, *, minimum: int, maximum: int) -> int:
    """The whole number, or InvalidInput naming `label` and the range (services, CLI)."""
    number = whole_number_or_none(text, minimum=minimum, maximum=maximum)
    if number is None:
        raise InvalidInput(f"{label}: {_lower_first(whole_number_message(minimum, maximum))}")
    return number


def decimal_or_none(
    text: str | None, *, minimum: Decimal, maximum: Decimal, places: int
) -> Decimal | None:
    """The decimal `text` writes (ASCII digits, at most `places` decimals, no exponent, no
    sign, no NaN) when it lies in [minimum, maximum]; else None. Bounded by length first."""
    text = (text or "").strip()
    widest = len(str(int(maximum))) + 1 + places
    if len(text) > widest or not _DECIMAL.fullmatch(text):
        return None
    if len(text.partition(".")[2]) > places:
        return None
    number = Decimal(text)
    return number if minimum <= number <= maximum else None

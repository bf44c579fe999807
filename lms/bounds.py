"""The bounds every number from a URL or query string is held to before it reaches the database.

Ids are the schema's INTEGER primary keys: 32-bit on PostgreSQL (64-bit on SQLite), so an id
above 2**31 - 1 cannot name a row, and there it would not even bind ("integer out of range",
a 500); past 2**63 SQLite fails to bind it too. Page numbers become OFFSETs, so they are
bounded too. One converter (`<id:...>`, registered app-wide) and one query-argument parser
serve every route, both reading numbers through lms.validation's one whole-number parser.
An id is written in ASCII digits only: Werkzeug's own `int` converter matches any Unicode
digit, so it takes fullwidth, Arabic-Indic or Devanagari digits for ASCII ones (`/users/５`
would be user 5); the app's `int` converter is replaced too, so no rule lets one through.
Dates are bounded where every form field is: lms.validation (1900-2100), bound to each
DateField by lms.forms.Form.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from lms import validation

MAX_ID = validation.INTEGER_MAX  # the largest INTEGER on PostgreSQL, and so the largest id
# Every file the tracker accepts (evidence, a certificate to check) is at most this big.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_MAX_TEXT = "5 MB"
# Request bodies are read up to this size (Flask's MAX_CONTENT_LENGTH), well above the file
# limit: a file a little too large still arrives whole, so its form comes back filled in with
# the error at the file field; a bigger body is refused unread (413, the tracker's own page
# naming the limit).
REQUEST_MAX_BYTES = 12 * 1024 * 1024
MAX_PAGE = 100_000
_NUMBER = re.compile(r"[+-]?[0-9]+")


class AsciiIntegerConverter(IntegerConverter):
    """`<int:...>` with ASCII digits only (Werkzeug's matches any Unicode digit), at most 18."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        """The number, refusing digit strings longer than any 64-bit number."""
        if len(value) > 18:
            raise ValidationError()
        return super().to_python(value)


class IdConverter(AsciiIntegerConverter):
    """`<id:name>`: a database id, 1 to MAX_ID in ASCII digits; anything else is no page (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - Werkzeug's name
        """An integer converter with the id range fixed."""
        super().__init__(map, min=1, max=MAX_ID)

    def to_python(self, value: str) -> int:
        """The id, refusing anything but 1 to MAX_ID in ASCII digits before converting it."""
        number = validation.whole_number_or_none(value, minimum=1, maximum=MAX_ID)
        if number is None:
            raise ValidationError()
        return number


def register_converters(url_map: Any) -> None:
    """Make `<id:...>` available to every rule of the app (before the blueprints register),
    and make `<int:...>` take ASCII digits only."""
    url_map.converters["id"] = IdConverter
    url_map.converters["int"] = AsciiIntegerConverter


def bounded_int(text: str | None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """A whole number written in ASCII digits within [minimum, maximum], else None."""
    return validation.whole_number_or_none(text, minimum=minimum, maximum=maximum)


def query_int(name: str, *, default: int, minimum: int = 1, maximum: int = MAX_PAGE) -> int:
    """A number from the query string: the default when absent or not a number at all (an old
    bookmark still opens), a 400 when it is a number out of bounds (it would reach the
    database as an OFFSET or an id no row can have).
    """
    raw = (request.args.get(name) or "").strip()
    if not _NUMBER.fullmatch(raw):
        return default
    number = bounded_int(raw, minimum=minimum, maximum=maximum)
    if number is None:
        abort(400, f"“{name}” must be a whole number from {minimum} to {maximum:,}.")
    return number

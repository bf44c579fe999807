"""The one CSV reader of the tracker's imports: every file is read here, and what cannot be
read is named by its line.

The shop's enrolments (page and `lms enrolments import`), the completions history
(`lms completions import`) and a video platform's participant report all come through
`read_records`. It takes the file's bytes (or text already decoded), so the page and the
command read the very same thing:

- UTF-8 only, with or without a byte-order mark; a byte that is not UTF-8 is reported with
  the line it sits on;
- line endings CRLF, LF and CR alike (old Mac and some shop exports end lines with CR only),
  and line numbers count physical lines, so a quoted cell that spans lines does not shift
  the numbers of the lines after it;
- bounded: a line longer than MAX_LINE_CHARS or a cell longer than MAX_CELL_CHARS is refused
  before anything else reads it (the csv module's own limit raises an error that is not a
  refusal).

Every problem raises UnreadableCsv, whose `problems` read "line N: ..."; each importer turns
it into its own refusal, so nothing is imported. The cells come back as written: what they
may hold (control characters, lengths per column) is the importer's business, through
lms.validation.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import NamedTuple

from lms.errors import InvalidInput

MAX_LINE_CHARS = 100_000
MAX_CELL_CHARS = 20_000
_BOM = "\ufeff"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class UnreadableCsv(InvalidInput):
    """A file that cannot be read as CSV; `problems` name the line. Nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        """Keep the problems; the message shows them."""
        super().__init__("The file cannot be read: " + "; ".join(problems))
        self.problems = problems


class Record(NamedTuple):
    """One CSV record: the physical line it starts on and its cells."""

    line: int
    cells: list[str]


def _line_of(data: bytes, offset: int) -> int:
    """The physical line (1-based) of the byte at `offset`."""
    return len(_LINE_BREAK.findall(data, 0, offset)) + 1


def decode(data: bytes | str) -> str:
    """The file's text: UTF-8 with any byte-order mark dropped (UnreadableCsv otherwise)."""
    if isinstance(data, str):
        return data.removeprefix(_BOM)
    data = data.removeprefix(_BOM.encode())  # first: an error's offset then counts in `data`
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = _line_of(data, error.start)
        raise UnreadableCsv(
            [f"line {line}: not UTF-8 text; save the file as CSV (UTF-8)"]
        ) from None


class _Lines:
    """The text's physical lines (any line ending), counted and bounded as csv reads them."""

    def __init__(self, text: str) -> None:
        """Read from the start."""
        self._lines = iter(io.StringIO(text, newline=""))
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        """Itself: csv.reader pulls one physical line at a time."""
        return self

    def __next__(self) -> str:
        """The next line, refused when it is too long to be a line of an export."""
        line = next(self._lines)
        self.number += 1
        if len(line) > MAX_LINE_CHARS:
            raise UnreadableCsv(
                [f"line {self.number}: the line is longer than {MAX_LINE_CHARS:,} characters"]
            )
        return line


def read_records(data: bytes | str) -> list[Record]:
    """Every record of the file with the line it starts on (blank lines give empty cells).

    UnreadableCsv names the first line that cannot be read.
    """
    lines = _Lines(decode(data))
    reader = csv.reader(lines)
    records: list[Record] = []
    while True:
        start = lines.number + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            reason = (
                f"a cell is longer than {MAX_CELL_CHARS:,} characters"
                if "field limit" in str(error)
                else f"not a readable CSV row ({error})"
            )
            raise UnreadableCsv([f"line {lines.number}: {reason}"]) from None
        if any(len(cell) > MAX_CELL_CHARS for cell in cells):
            raise UnreadableCsv(
                [f"line {start}: a cell is longer than {MAX_CELL_CHARS:,} characters"]
            )
        records.append(Record(start, cells))

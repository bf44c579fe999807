"""The one CSV reader: any line ending, a byte-order mark, line numbers that count physical
lines, and every file it cannot read refused with the line, never an exception of csv's own."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lms import csv_safe
from lms.csv_reader import MAX_CELL_CHARS, MAX_LINE_CHARS, UnreadableCsv, read_records


def _cells(data: bytes | str) -> list[tuple[int, list[str]]]:
    """(line, cells) of every record."""
    return [(record.line, record.cells) for record in read_records(data)]


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_every_line_ending_reads_the_same_records_on_the_same_lines(ending):
    data = ending.join([b"email,enrolled_on", b"ann@example.test,2027-01-05", b"", b"x,y"])
    assert _cells(data + ending) == [
        (1, ["email", "enrolled_on"]),
        (2, ["ann@example.test", "2027-01-05"]),
        (3, []),
        (4, ["x", "y"]),
    ]


def test_a_byte_order_mark_is_dropped_from_bytes_and_from_text():
    assert _cells(b"\xef\xbb\xbfemail\nx\n") == [(1, ["email"]), (2, ["x"])]
    assert _cells("\ufeffemail\nx\n") == [(1, ["email"]), (2, ["x"])]


def test_a_quoted_cell_over_several_lines_keeps_the_numbers_of_the_lines_after_it():
    data = b'note,who\r"first\r\nsecond\rthird",ann\rlast,bob\r'
    assert _cells(data) == [
        (1, ["note", "who"]),
        (2, ["first\r\nsecond\rthird", "ann"]),
        (5, ["last", "bob"]),
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"email\nann\n\xe9t\xe9\n", "line 3: not UTF-8 text"),
        (b"\xef\xbb\xbfemail\r\nann\r\nbob\r\n\xff\r\n", "line 4: not UTF-8 text"),
        (b"email\rann\r\xe9\r", "line 3: not UTF-8 text"),
        (b"\xff\xfee\x00m\x00", "line 1: not UTF-8 text"),  # UTF-16, as Excel's "Unicode text"
        (
            b"email,note\nann," + b"x" * 200_000 + b"\n",
            f"line 2: the line is longer than {MAX_LINE_CHARS:,} characters",
        ),
        (
            b"email,note\nann," + b"x" * (MAX_CELL_CHARS + 1) + b"\n",
            f"line 2: a cell is longer than {MAX_CELL_CHARS:,} characters",
        ),
        (
            b'email,note\nann,"' + (b"x" * 999 + b"\n") * 30 + b'"\n',
            f"line 2: a cell is longer than {MAX_CELL_CHARS:,} characters",
        ),
        (  # past the csv module's own limit (131,072), which raises an error of its own
            b'email,note\nann,"' + (b"x" * 999 + b"\n") * 140 + b'"\n',
            f"a cell is longer than {MAX_CELL_CHARS:,} characters",
        ),
    ],
    ids=[
        "latin-1",
        "bom-crlf",
        "cr-only",
        "utf-16",
        "long-line",
        "long-cell",
        "long-quoted",
        "past-csv-limit",
    ],
)
def test_a_file_that_cannot_be_read_is_refused_naming_its_line(data, problem):
    with pytest.raises(UnreadableCsv) as refused:
        read_records(data)
    (message,) = refused.value.problems
    assert problem in message
    assert message.startswith("line ")


_cell = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)


@given(
    rows=st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=6),
    ending=st.sampled_from(["\r\n", "\n", "\r"]),
)
@example(rows=[["\r", "a\rb"]], ending="\n")  # csv quotes only its terminator's characters
def test_what_the_csv_writer_writes_reads_back_as_written(rows, ending):
    header = ["a", "b", "c", "d"]
    text = csv_safe.write_csv(header, rows, lineterminator=ending)
    records = read_records(text.encode())
    read = [[csv_safe.restore(cell) for cell in record.cells] for record in records[1:]]
    assert read == rows
    assert [record.line for record in records] == sorted({r.line for r in records})

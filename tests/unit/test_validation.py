"""The shared checks of single-line and multi-line text and of dates (lms.validation)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms import validation
from lms.errors import InvalidInput


@pytest.mark.parametrize(
    "value",
    [
        "\x00",
        "Ann\x00",
        "Ann\r\nBcc: x@evil.example",
        "Ann\tBee",
        "Ann\x85Bee",
        "\u202eAnn",
        "A\u2028B",
    ],
    ids=["nul", "nul-inside", "crlf", "tab", "c1-control", "bidi-override", "line-separator"],
)
def test_single_line_text_refuses_control_characters(value):
    with pytest.raises(InvalidInput, match="Name: use one line of text"):
        validation.single_line(value, "Name")


@pytest.mark.parametrize(
    "value", ["\u200b\u200b", "\u2063", "\ufeff \u200d", "\u3164", "\u2800"], ids=repr
)
def test_a_value_of_only_invisible_characters_is_empty_and_so_required(value):
    assert validation.single_line(value, "Name") == ""
    with pytest.raises(InvalidInput, match="Name: cannot be empty"):
        validation.single_line(value, "Name", required=True)


def test_combining_marks_alone_are_refused_but_kept_on_a_letter():
    with pytest.raises(InvalidInput, match="visible characters"):
        validation.single_line("\u0301\u0301", "Name")
    assert validation.single_line("Jose\u0301 ", "Name") == "Jose\u0301"
    assert validation.single_line("\u200bAnn Alder\u200b", "Name") == "Ann Alder"


def test_single_line_is_bounded_after_trimming():
    assert validation.single_line(" " + "x" * 200 + " ", "Title") == "x" * 200
    with pytest.raises(InvalidInput, match="at most 200 characters"):
        validation.single_line("x" * 10_000, "Title")


def test_multi_line_text_keeps_line_breaks_and_tabs_but_refuses_nul():
    assert validation.multi_line("a\r\nb\tc", "Note") == "a\r\nb\tc"
    with pytest.raises(InvalidInput, match="Note: remove the control characters"):
        validation.multi_line("a\x00b", "Note")
    with pytest.raises(InvalidInput, match="at most 5 characters"):
        validation.multi_line("abcdef", "Note", max_length=5)


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(2101, 1, 1), date.max])
def test_dates_outside_1900_to_2100_are_refused(day):
    with pytest.raises(InvalidInput, match="between 1 Jan 1900 and 31 Dec 2100"):
        validation.sensible_date(day, "First day")


def test_dates_at_the_bounds_are_accepted():
    for day in (date(1900, 1, 1), date(2100, 12, 31)):
        assert validation.sensible_date(day, "First day") == day


@given(st.text())
def test_whatever_single_line_accepts_is_printable_trimmed_and_bounded(value):
    try:
        cleaned = validation.single_line(value, "Name", max_length=50)
    except InvalidInput:
        return
    assert cleaned == validation.trim(cleaned) and len(cleaned) <= 50
    assert "\x00" not in cleaned and "\n" not in cleaned and "\r" not in cleaned
    assert cleaned == "" or not all(c.isspace() or c in "\u200b\u200d\ufeff" for c in cleaned)

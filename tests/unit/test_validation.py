"""The shared checks of single-line and multi-line text and of dates (lms.validation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
    with pytest.raises(InvalidInput, match="between Jan 1, 1900 and Dec 31, 2100"):
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


@pytest.mark.parametrize(
    "text",
    [
        "9" * 400,
        str(2**31),
        "-" + "9" * 400,
        "\uff15",
        "\u0663",
        "\u0967",
        "1_000",
        "+5",
        "1e3",
        "5.0",
        "",
        " ",
        "0x10",
    ],
)
def test_a_whole_number_is_ascii_digits_within_its_bounds(text):
    assert validation.whole_number_or_none(text, minimum=-10, maximum=1000) is None
    with pytest.raises(InvalidInput, match="Places: enter a whole number from -10 to 1,000"):
        validation.whole_number(text, "Places", minimum=-10, maximum=1000)


def test_a_whole_number_at_its_bounds_is_read_with_spaces_around():
    assert validation.whole_number_or_none(" -10 ", minimum=-10, maximum=1000) == -10
    assert validation.whole_number_or_none("1000", minimum=-10, maximum=1000) == 1000
    top = validation.INTEGER_MAX
    assert validation.whole_number_or_none(str(top), minimum=1, maximum=top) == top


def test_bounds_wider_than_a_database_integer_are_a_programming_error():
    with pytest.raises(ValueError, match="INTEGER"):
        validation.whole_number_or_none("1", minimum=0, maximum=2**31)


@given(st.text(max_size=30))
def test_whatever_text_a_whole_number_is_read_from_the_answer_is_in_bounds(text):
    number = validation.whole_number_or_none(text, minimum=0, maximum=1000)
    if number is not None:
        assert 0 <= number <= 1000
        assert text.strip().isascii() and int(text.strip()) == number


@pytest.mark.parametrize(
    "text", ["sNaN", "NaN", "Infinity", "1e999999999", "9" * 400, "\u0663", "1.255", "-1", "1_0"]
)
def test_a_decimal_is_ascii_digits_with_bounded_places(text):
    assert (
        validation.decimal_or_none(text, minimum=Decimal(0), maximum=Decimal(1000), places=2)
        is None
    )


def test_a_decimal_within_bounds_is_read_exactly():
    assert validation.decimal_or_none(
        "7.25", minimum=Decimal(0), maximum=Decimal(1000), places=2
    ) == Decimal("7.25")

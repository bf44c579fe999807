"""The one normal form of an e-mail address (lms.auth.services.normalise_email), which the
forms, the lookups and every limit per address share."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms import validation
from lms.auth.services import normalise_email

ADDRESS = "victim@example.test"


def full_width(text: str) -> str:
    """The text in full-width forms (what an East Asian keyboard may type)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


SPELLINGS = {
    "upper-case": ADDRESS.upper(),
    "spaces-around": f"  {ADDRESS}\t ",
    "no-break-and-ideographic-spaces": f"\u00a0{ADDRESS}\u3000",
    "zero-width-space-before": f"\u200b{ADDRESS}",
    "zero-width-joiner-before": f"\u200d{ADDRESS}",
    "byte-order-mark-before": f"\ufeff{ADDRESS}",
    "word-joiner-after": f"{ADDRESS}\u2060",
    "soft-hyphen-inside": "vic\u00adtim@example.test",
    "zero-width-space-inside": "vic\u200btim@exam\u200cple.test",
    "left-to-right-mark-inside": "victim\u200e@example.test",
    "hangul-filler-before": f"\u3164{ADDRESS}",
    "full-width": full_width(ADDRESS),
    "full-width-upper-case": full_width(ADDRESS.upper()),
    "everything-at-once": f"\u200b \ufeff{full_width('VIC')}\u200dTIM@Example.TEST\u2060 ",
}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_spelling_of_an_address_has_the_same_normal_form(spelling):
    assert normalise_email(spelling) == ADDRESS


def test_distinct_addresses_stay_distinct():
    assert normalise_email("vic tim@example.test") != ADDRESS  # a space is no invisible
    assert normalise_email("victim@example.test.") != ADDRESS
    assert normalise_email("Jos\u00e9@example.test") == "jos\u00e9@example.test"
    assert normalise_email("Jose\u0301@example.test") == "jos\u00e9@example.test"  # composed


@given(st.text())
def test_the_normal_form_is_idempotent_and_blind_to_what_forms_trim(value):
    once = normalise_email(value)
    assert normalise_email(once) == once
    assert normalise_email(validation.trim(value)) == once


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_the_normal_form_holds_no_invisible_character_and_no_space_at_its_ends(value):
    once = normalise_email(value)
    assert once == validation.without_invisible(once) == once.strip()


@functools.cache
def _migration_0012():
    """The normal form as migration 0012 keeps its own copy of it."""
    import importlib.util

    from lms.config import PROJECT_ROOT

    path = PROJECT_ROOT / "migrations" / "versions" / "0012_email_normal_form.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@given(st.text())
def test_migration_0012_rewrote_addresses_to_this_same_normal_form(value):
    assert _migration_0012().normal_form(value) == normalise_email(value)

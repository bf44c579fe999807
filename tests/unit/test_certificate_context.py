"""The pure certificate pieces: codes, serials, wording, and what a certificate says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lms.certificates.codes import (
    ALPHABET,
    code_bits,
    format_serial,
    new_verification_code,
    normalise_code,
)
from lms.certificates.context import (
    Holder,
    ItemFacts,
    TranscriptRow,
    certificate_content,
    format_date,
    format_hours,
    layout_classes,
    programme_facts,
    transcript_content,
)

PROGRAMME = {
    "provider_name": "Polaris Insight Center",
    "provider_address": "1 Example Way, San Francisco, CA",
    "signatory_name": "Dr Sam Signer",
    "signatory_title": "Director of Training",
    "accreditation_statements": [
        {"body": "APA", "statement": "Approved by the APA to sponsor CE.", "example": True},
        {"body": "BBS", "statement": "Meets BBS requirements."},
    ],
}


def content(design: str = "module", kind: str = "core_module", **overrides: object) -> dict:
    """A certificate's content with sensible defaults."""
    arguments: dict = {
        "design": design,
        "holder": Holder("Ada Lovelace", "PhD", "Psychologist", "PSY 123", "CA"),
        "item": ItemFacts(
            "M1", "Module 1", kind, "Live online", None if kind == "retreat" else Decimal("7.50")
        ),
        "completed_on": date(2025, 3, 14),
        "issued_on": date(2026, 1, 2),
        "expires_on": None,
        "serial": "KAP-2026-000001",
        "code": "2345-6789-ABCD-EFGH-JKMN",
        "verify_url": "http://lms.test/verify/2345-6789-ABCD-EFGH-JKMN",
        "programme": PROGRAMME,
    }
    arguments.update(overrides)
    return certificate_content(**arguments)


def test_verification_codes_carry_at_least_80_bits_without_ambiguous_characters() -> None:
    """Verification codes carry at least 80 bits without ambiguous characters."""
    assert code_bits() >= 80
    assert not set("01OILU") & set(ALPHABET)
    codes = {new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert len(groups) == 5 and all(len(g) == 4 for g in groups)
        assert set(code.replace("-", "")) <= set(ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "2345-6789-abcd-efgh-jkmn",
        " 2345 6789 ABCD EFGH JKMN ",
        "23456789ABCDEFGHJKMN",
        "2345_6789.abcd-EFGH jkmn",
    ],
)
def test_typed_codes_are_read_forgivingly(typed: str) -> None:
    """Typed codes are read forgivingly."""
    assert normalise_code(typed) == "2345-6789-ABCD-EFGH-JKMN"


@pytest.mark.parametrize(
    "typed",
    ["", None, "2345-6789", "0000-0000-0000-0000-0000", "2345-6789-ABCD-EFGH-JKMN-2", "<script>"],
)
def test_things_that_cannot_be_codes_are_refused(typed: str | None) -> None:
    """Things that cannot be codes are refused."""
    assert normalise_code(typed) is None


def test_serials_carry_the_year_and_a_padded_number() -> None:
    """Serials carry the year and a padded number."""
    assert format_serial(2026, 123) == "KAP-2026-000123"


def test_hours_and_dates_print_without_noise() -> None:
    """Hours and dates print without noise."""
    assert format_hours(Decimal("7.50")) == "7.5"
    assert format_hours(Decimal("41.00")) == "41"
    assert format_hours(Decimal("0.25")) == "0.25"
    assert format_hours(None) == ""
    assert format_date(date(2024, 9, 4)) == "September 4, 2024"


def test_module_certificate_says_who_what_when_hours_provider_statements_and_signatory() -> None:
    """Module certificate says who what when hours provider statements and signatory."""
    said = content()
    assert said["holder_name"] == "Ada Lovelace"
    assert said["credentials"] == "PhD"
    assert said["licence_line"] == "License: Psychologist no. PSY 123 (CA)"  # en-US by default
    assert said["title"] == "Module 1"
    assert said["completed_on_text"] == "March 14, 2025"
    assert said["ce_hours"] == "7.5"
    assert said["statements"] == ["Approved by the APA to sponsor CE.", "Meets BBS requirements."]
    assert said["provider_name"] == "Polaris Insight Center"
    assert said["provider_address"] == ["1 Example Way, San Francisco, CA"]
    assert said["signatory_name"] == "Dr Sam Signer"
    assert said["serial"] == "KAP-2026-000001"
    assert said["issued_on_text"] == "January 2, 2026"
    assert said["page_size"] == "A4"


def test_retreat_certificate_carries_no_ce_hours_and_no_accreditation() -> None:
    """Retreat certificate carries no ce hours and no accreditation."""
    said = content(design="retreat", kind="retreat")
    assert said["ce_hours"] == ""
    assert said["ce_type"] == ""
    assert said["statements"] == []


def test_licence_line_is_empty_when_no_licence_number_is_known() -> None:
    """Licence line is empty when no licence number is known."""
    said = content(holder=Holder("Pre Licensed", "MSW student"))
    assert said["licence_line"] == ""


def test_programme_can_ask_for_letter_paper_and_unknown_sizes_fall_back_to_a4() -> None:
    """Programme can ask for letter paper and unknown sizes fall back to a4."""
    assert programme_facts({"certificate_page_size": "letter"})["page_size"] == "Letter"
    assert programme_facts({"certificate_page_size": "tabloid"})["page_size"] == "A4"
    assert programme_facts({})["provider_name"]  # never blank on a certificate


def test_content_is_plain_json_values() -> None:
    """Content is plain json values."""
    import json

    assert json.loads(json.dumps(content())) == content()


@pytest.mark.parametrize(
    ("length", "expected"),
    [(20, "name-s"), (40, "name-m"), (60, "name-l"), (110, "name-xl"), (200, "name-xxl")],
)
def test_longer_names_get_smaller_type(length: int, expected: str) -> None:
    """Longer names get smaller type."""
    said = content(holder=Holder("N" * length))
    assert layout_classes(said)["name_class"] == expected


def test_transcript_lists_completions_in_date_order_with_total_hours() -> None:
    """Transcript lists completions in date order with total hours."""
    rows = [
        TranscriptRow("M2", "Module 2", "Core module", date(2025, 5, 1), Decimal("8"), "S2"),
        TranscriptRow("M1", "Module 1", "Core module", date(2025, 3, 1), Decimal("7.5"), "S1"),
        TranscriptRow("RETREAT-L1", "Retreat", "Retreat", date(2025, 6, 1), None),
    ]
    said = transcript_content(
        holder=Holder("Ada"), rows=rows, generated_on=date(2026, 1, 1), programme=PROGRAMME
    )
    assert [r["code"] for r in said["rows"]] == ["M1", "M2", "RETREAT-L1"]
    assert said["total_ce_hours"] == "15.5"
    assert said["rows"][2]["ce_hours"] == ""


def test_spacing_tightens_as_long_name_title_and_statements_add_up() -> None:
    """Spacing tightens as long name title and statements add up."""
    long_statements = {**PROGRAMME, "accreditation_statements": ["S" * 200, "T" * 200]}
    assert layout_classes(content())["density_class"] == "roomy"
    assert layout_classes(content(holder=Holder("N" * 100)))["density_class"] == "dense"
    crowded = content(
        holder=Holder("N" * 200),
        item=ItemFacts("M1", "T" * 200, "core_module", "", Decimal(1)),
        programme=long_statements,
    )
    assert layout_classes(crowded)["density_class"] == "densest"


def test_an_expiry_is_months_after_the_issue_on_the_programmes_calendar():
    """Issued at 17:00 Pacific on Jan 30, 2027 (01:00 UTC on the 31st), a one-month
    certificate runs to 28 Feb there; counted on UTC's calendar it would end on the 27th."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from lms.certificates.issuing import expiry_for
    from lms.clock import date_in, time_in

    pacific = ZoneInfo("America/Los_Angeles")
    issued = time_in(datetime(2027, 1, 31, 1, 0, tzinfo=UTC), pacific)
    expires = expiry_for(SimpleNamespace(certificate_valid_months=1), issued, {})
    assert date_in(expires, pacific) == date(2027, 2, 28)
    # ...and lasts all of that day: its last instant there.
    assert time_in(expires, pacific).replace(tzinfo=None) == datetime(
        2027, 2, 28, 23, 59, 59, 999999
    )
    assert expires.tzinfo is not None and expires.utcoffset().total_seconds() == 0

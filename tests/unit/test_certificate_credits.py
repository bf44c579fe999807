"""What a CE certificate carries, as pure rules: credits rounded per accreditor, approval
numbers, named signatories, the days an activity ran, and older contents read gracefully."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lms.certificates.context import (
    ActivityFacts,
    Holder,
    ItemFacts,
    certificate_content,
    dates_text,
    printable,
    transcript_content,
)
from lms.certificates.credits import (
    AMA_STEP,
    credit_step,
    credits_for,
    round_credit,
    signatories_of,
)

AMA = {
    "body": "American Medical Association",
    "credit_type": "AMA PRA Category 1 Credits™",
    "statement": "EXAMPLE: designates this live activity for credit.",
    "number_label": "Provider number",
    "number": "EX-0001",
    "example": True,
}
APA = {"body": "APA", "credit_type": "CE credits for psychologists", "statement": "APA text."}


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("8.8", "8.75"),  # 8 h 48 min: nearest quarter is 8.75
        ("8.9", "9.00"),  # 8 h 54 min: nearest quarter is 9
        ("7.125", "7.00"),  # exactly between two quarters: the tie goes down (never overclaim)
        ("7.13", "7.25"),
        ("3.5", "3.50"),
        ("0.1", "0.00"),
        ("41", "41.00"),
    ],
)
def test_ama_pra_category_1_credits_round_to_the_nearest_quarter_with_ties_down(hours, expected):
    """AMA PRA Category 1 Credit™ is designated in 0.25 steps."""
    assert credit_step(AMA) == AMA_STEP
    assert str(round_credit(hours, credit_step(AMA))) == expected


def test_an_accreditation_may_round_down_in_its_own_step():
    """A given step and "down" rounding are followed; other accreditors keep hundredths."""
    half_down = {"credit_type": "X", "credit_step": "0.5", "rounding": "down"}
    assert str(round_credit("7.9", credit_step(half_down), "down")) == "7.50"
    assert credit_step(APA) == Decimal("0.01")
    assert credit_step({"credit_step": "nonsense"}) == Decimal("0.01")


def test_credits_print_once_per_credit_type_each_rounded_its_own_way():
    """Two accreditors, two credit lines; the programme's CE type when none names one."""
    credits = credits_for(Decimal("8.8"), [AMA, APA, dict(APA)], "CE contact hours")
    assert credits == [
        {"type": "AMA PRA Category 1 Credits™", "amount": "8.75", "amount_text": "8.75"},
        {"type": "CE credits for psychologists", "amount": "8.80", "amount_text": "8.8"},
    ]
    assert credits_for(Decimal("7"), [{"statement": "s"}], "CE contact hours") == [
        {"type": "CE contact hours", "amount": "7.00", "amount_text": "7"}
    ]
    assert credits_for(None, [AMA], "CE contact hours") == []


def test_only_named_people_sign_and_a_title_is_never_taken_for_a_name():
    """The older single signatory whose name is its title's start signs nothing."""
    assert (
        signatories_of(
            {
                "signatory_name": "Director of Training",
                "signatory_title": "Director of Training, Polaris",
            }
        )
        == []
    )
    assert signatories_of({"signatory_name": "Dr Sam", "signatory_title": "Director"}) == [
        {"name": "Dr Sam", "credentials": "", "title": "Director", "signature": ""}
    ]
    people = [{"name": "A B", "title": "T"}, {"name": "", "title": "Nobody"}]
    assert [p["name"] for p in signatories_of({"signatories": people})] == ["A B"]
    assert signatories_of({"signatories": [], "signatory_name": "Old"}) == []


def test_dates_text_prints_a_range_for_consecutive_days_and_each_day_otherwise():
    """One day, first – last for a run of days, each date for days apart."""
    assert dates_text([date(2027, 2, 6)]) == "February 6, 2027"
    assert dates_text([date(2027, 2, 7), date(2027, 2, 6)]) == (
        "February 6, 2027 – February 7, 2027"
    )
    assert dates_text([date(2027, 2, 6), date(2027, 2, 13)]) == (
        "February 6, 2027; February 13, 2027"
    )


def content(**overrides):
    """A module certificate from an offering of two days."""
    arguments = {
        "design": "module",
        "holder": Holder("Ada Lovelace", "PhD", "Psychologist", "PSY 123", "CA"),
        "item": ItemFacts(
            "M1", "Module 1", "core_module", "Live online", Decimal("8.8"), activity_id="PIC-KAP-M1"
        ),
        "completed_on": date(2027, 2, 7),
        "issued_on": date(2027, 2, 8),
        "expires_on": None,
        "serial": "KAP-2027-000001",
        "code": "2345-6789-ABCD-EFGH-JKMN",
        "verify_url": "http://lms.test/verify/2345-6789-ABCD-EFGH-JKMN",
        "programme": {
            "provider_name": "Polaris Insight Center",
            "provider_address": "1 Example Way\nSan Francisco, CA",
            "provider_logo": "",
            "signatories": [
                {
                    "name": "Dr Sam Signer",
                    "credentials": "PhD",
                    "title": "Director",
                    "signature": "ab" * 32,
                }
            ],
            "accreditation_statements": [AMA, APA],
        },
        "activity": ActivityFacts(
            days=(date(2027, 2, 6), date(2027, 2, 7)),
            location="Live online (video)",
            format="Live online",
            facilitators=("Ines Instructor",),
        ),
    }
    arguments.update(overrides)
    return certificate_content(**arguments)


def test_a_certificate_carries_every_part_a_ce_board_asks_for():
    """Activity ID, every day, location, credits, numbered statements, signatories, facilitators."""
    said = content()
    assert said["activity_id"] == "PIC-KAP-M1"
    assert said["activity_dates"] == ["2027-02-06", "2027-02-07"]
    assert said["activity_dates_text"] == "February 6, 2027 – February 7, 2027"
    assert said["location"] == "Live online (video)" and said["format"] == "Live online"
    assert [c["amount_text"] for c in said["credits"]] == ["8.75", "8.8"]
    assert said["accreditations"][0] == {
        "body": "American Medical Association",
        "statement": AMA["statement"],
        "number_label": "Provider number",
        "number": "EX-0001",
        "example": True,
    }
    assert said["accreditations"][1]["number_label"] == ""  # no number, no label
    assert said["signatories"][0]["signature"] == "ab" * 32
    assert said["facilitators"] == ["Ines Instructor"]
    assert said["provider_address"] == ["1 Example Way", "San Francisco, CA"]
    # What older readers use is still there.
    assert said["ce_hours"] == "8.8" and said["statements"] == [AMA["statement"], APA["statement"]]


def test_without_an_offering_the_completion_date_is_the_activity_date():
    """A completion marked by hand: its date, no location, the item code as activity ID."""
    said = content(activity=None, item=ItemFacts("M2", "Module 2", "core_module", "", Decimal(8)))
    assert said["activity_dates"] == ["2027-02-07"] and said["location"] == ""
    assert said["activity_id"] == "M2" and said["facilitators"] == []


def test_a_retreat_certificate_has_no_credits_and_no_accreditations():
    """No CE on a retreat: no credits and no statements, whatever the settings say."""
    said = content(design="retreat", item=ItemFacts("R", "Retreat", "retreat", "In person", None))
    assert said["credits"] == [] and said["accreditations"] == []


def test_an_older_content_is_printable_from_what_it_said():
    """A certificate frozen before these keys existed prints its own hours, statements and
    signatory, never today's settings."""
    old = {
        "completed_on": "2025-03-14",
        "completed_on_text": "March 14, 2025",
        "item_code": "M1",
        "ce_hours": "7.5",
        "ce_type": "CE contact hours",
        "statements": ["Old statement."],
        "signatory_name": "Director of Training",
        "signatory_title": "Director of Training, Polaris",
    }
    filled = printable(old)
    assert filled["activity_dates"] == ["2025-03-14"]
    assert filled["activity_dates_text"] == "March 14, 2025"
    assert filled["credits"] == [
        {"type": "CE contact hours", "amount": "7.5", "amount_text": "7.5"}
    ]
    assert filled["accreditations"][0]["statement"] == "Old statement."
    assert filled["signatories"] == []  # a title alone signs nothing
    assert filled["activity_id"] == "M1" and filled["location"] == ""


def test_the_transcript_is_certified_by_named_people_only():
    """No "Director of Training, Director of Training": named people with their titles."""
    named = transcript_content(
        holder=Holder("Ada"),
        rows=[],
        generated_on=date(2027, 1, 1),
        programme={"signatories": [{"name": "Dr Sam", "credentials": "PhD", "title": "Director"}]},
    )
    assert named["certified_by"] == ["Dr Sam, PhD, Director"]
    legacy = transcript_content(
        holder=Holder("Ada"),
        rows=[],
        generated_on=date(2027, 1, 1),
        programme={
            "signatory_name": "Director of Training",
            "signatory_title": "Director of Training, Polaris Insight Center",
        },
    )
    assert legacy["certified_by"] == []

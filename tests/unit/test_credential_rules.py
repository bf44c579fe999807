"""The programme credential's leaves in the one rule evaluator: logged entries (count, hours,
both), different clients, approved documents and the window, with their explanations, words
and checks."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from importlib import import_module
from pathlib import Path

import pytest

from lms.catalog.credential_leaves import TrainingFacts, logged_progress, window_closes_on
from lms.catalog.rule_checks import validate_rule
from lms.catalog.rules import Facts, ItemName, describe, evaluate
from lms.training.requirement import DEFAULT_RULE

NAMES = {"M1": ItemName("Module 1")}
GROUP = {"logged": {"kind": "group_consultation", "count": 12, "hours": 24}}


def _facts(**training: object) -> Facts:
    """A licensed clinician with Module 1 and these credential facts."""
    return Facts(frozenset({"M1"}), frozenset(), True, training=TrainingFacts(**training))


def test_logged_explains_count_and_hours_in_the_house_style() -> None:
    facts = _facts(logged=(("group_consultation", 7, Decimal(14)),))
    verdict = evaluate(GROUP, facts, NAMES)
    assert not verdict.met
    assert verdict.explanation == "7 of 12 group consultations confirmed (14 of 24 hours)."


def test_logged_needs_both_the_count_and_the_hours() -> None:
    enough_count = _facts(logged=(("group_consultation", 12, Decimal(18)),))
    enough_both = _facts(logged=(("group_consultation", 12, Decimal(24)),))
    assert not evaluate(GROUP, enough_count, NAMES).met
    assert evaluate(GROUP, enough_both, NAMES).met


def test_logged_by_count_or_hours_alone() -> None:
    by_count = {"logged": {"kind": "individual_consultation", "count": 12}}
    by_hours = {"logged": {"kind": "group_consultation", "hours": 24}}
    facts = _facts(logged=(("individual_consultation", 3, Decimal(3)),))
    assert evaluate(by_count, facts, NAMES).explanation == (
        "3 of 12 individual consultations confirmed."
    )
    assert evaluate(by_hours, facts, NAMES).explanation == (
        "0 of 24 hours of group consultations confirmed."
    )
    sessions = {"logged": {"kind": "therapist_session", "count": 18}}
    progress = logged_progress(sessions["logged"], TrainingFacts())
    assert progress == "0 of 18 KAP sessions as therapist logged"


def test_nothing_logged_counts_as_zero() -> None:
    assert logged_progress(GROUP["logged"], TrainingFacts()) == (
        "0 of 12 group consultations confirmed (0 of 24 hours)"
    )


def test_distinct_clients_and_documents() -> None:
    rule = {"all": [{"distinct_clients_at_least": 3}, {"document_approved": "reflection_paper"}]}
    missing = evaluate(rule, _facts(distinct_clients=2), NAMES)
    assert missing.steps == (
        "2 of 3 different clients in your session log",
        "Have your reflection paper approved",
    )
    done = _facts(distinct_clients=3, documents=frozenset({"reflection_paper"}))
    assert evaluate(rule, done, NAMES).met


@pytest.mark.parametrize(
    ("first", "on", "met"),
    [
        (None, date(2030, 1, 1), True),  # nothing counted yet: the window has not opened
        (date(2025, 1, 31), date(2027, 1, 31), True),  # its last day
        (date(2025, 1, 31), date(2027, 2, 1), False),
    ],
)
def test_within_months_counts_from_the_first_event(first, on, met) -> None:
    facts = _facts(first_event_on=first, on=on)
    verdict = evaluate({"within_months": 24}, facts, NAMES)
    assert verdict.met is met
    if not met:
        assert "the window closed on Jan 31, 2027" in verdict.explanation


def test_the_window_ends_on_a_shorter_months_last_day() -> None:
    assert window_closes_on(1, TrainingFacts(first_event_on=date(2026, 1, 31))) == date(2026, 2, 28)


def test_credential_leaves_mix_with_the_existing_ones() -> None:
    rule = {"all": [{"completed": "M1"}, {"licensed": True}, GROUP]}
    unlicensed = Facts(frozenset(), frozenset(), False)
    verdict = evaluate(rule, unlicensed, NAMES)
    assert verdict.steps[0] == "Complete Module 1"
    assert verdict.steps[-1] == "0 of 12 group consultations confirmed (0 of 24 hours)"


def test_describe_names_each_leaf() -> None:
    rule = {
        "all": [
            GROUP,
            {"distinct_clients_at_least": 3},
            {"document_approved": "recommendation_letter"},
            {"within_months": 24},
        ]
    }
    assert describe(rule, NAMES) == (
        "12 group consultations confirmed (24 hours), sessions with at least 3 different "
        "clients, an approved consultant's letter of recommendation and all within 24 months "
        "of the first counted event"
    )


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"logged": {"kind": "coffee", "count": 1}}, "$.logged.kind: expected one of"),
        ({"logged": {"kind": "group_consultation"}}, "give a count, hours or both"),
        ({"logged": {"kind": "group_consultation", "count": 0}}, "1 or more"),
        ({"logged": {"kind": "therapist_session", "hours": 3}}, "counted, not timed"),
        ({"logged": 12}, "expected a table"),
        ({"distinct_clients_at_least": "3"}, "whole number"),
        ({"within_months": 0}, "whole number of 1 or more"),
        ({"document_approved": "diploma"}, "expected one of"),
    ],
)
def test_malformed_credential_leaves_are_refused_with_their_path(rule, problem) -> None:
    problems = validate_rule(rule, set())
    assert problems and problem in problems[0]


def test_the_default_requirement_is_a_valid_rule() -> None:
    migrations = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    sys.path.insert(0, str(migrations))
    try:
        module = import_module("0018_training_credential")
    finally:
        sys.path.remove(str(migrations))
    codes = {"M1", "M2", "M3", "M4", "M5", "M6", "M7", "HTH", "MUSIC", "MEDICAL"}
    codes |= {"INTEGRATION", "ETHICS", "ACT", "RETREAT-L1", "RETREAT-ADV", "RETREAT-DFH"}
    assert validate_rule(module.DEFAULT_RULE, codes) == []
    # Version 1 as the code writes it into a database without one is the migration's.
    assert module.DEFAULT_RULE == DEFAULT_RULE

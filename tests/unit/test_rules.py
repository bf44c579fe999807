"""Examples of the prerequisite rule engine, including the default programme's real rules."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from lms.catalog.rule_checks import find_cycle, referenced_codes, validate_rule
from lms.catalog.rules import (
    LICENCE_STEP,
    MAX_DEPTH,
    Facts,
    ItemName,
    Outline,
    RuleError,
    compact_names,
    describe,
    evaluate,
)
from lms.catalog.services import DEFAULT_CATALOG

M1_LABEL = "introductory KAP training (for example KTC, KRIYA, PRATI or SAGE)"
NAMES = {
    "M1": ItemName("Module 1", M1_LABEL),
    "M2": ItemName("Module 2"),
    "M3": ItemName("Module 3"),
    "M4": ItemName("Module 4"),
    "HTH": ItemName("Healing the Healer"),
    "RETREAT-L1": ItemName("Level 1 Retreat", "experiential KAP retreat with another programme"),
}
M1_OR_EQUIVALENT = {"any": [{"completed": "M1"}, {"equivalent": "M1"}]}


def facts(completed=(), equivalent=(), licensed=False, screening=False, hours=0) -> Facts:
    """Facts from plain values."""
    return Facts(
        completed=frozenset(completed),
        equivalent=frozenset(equivalent),
        licensed=licensed,
        screening_cleared=screening,
        ce_hours=Decimal(hours),
    )


@pytest.fixture(scope="module")
def programme() -> dict[str, dict]:
    """The default catalogue file's items by code (read as data, no database)."""
    with DEFAULT_CATALOG.open("rb") as handle:
        data = tomllib.load(handle)
    return {item["code"]: item for item in data["items"]}


@pytest.fixture(scope="module")
def programme_names(programme: dict[str, dict]) -> dict[str, ItemName]:
    """Names as the catalogue snapshot builds them (short title first)."""
    return {
        code: ItemName(item.get("short_title") or item["title"], item.get("equivalent_label", ""))
        for code, item in programme.items()
    }


def test_no_rule_is_always_met() -> None:
    """A None rule is met with nothing to say."""
    result = evaluate(None, facts(), NAMES)
    assert result.met and result.explanation == "" and result.steps == ()


def test_module_1_or_equivalent_explains_both_ways_and_suggests_module_1() -> None:
    """The brief's canonical sentence, and Module 1 as the single step."""
    result = evaluate(M1_OR_EQUIVALENT, facts(), NAMES)
    assert not result.met
    assert result.explanation == (f"Complete Module 1, or have an equivalent {M1_LABEL} approved.")
    assert result.steps == ("Complete Module 1",)
    assert result.missing_codes == frozenset({"M1"})


@pytest.mark.parametrize(
    "known", [facts(completed={"M1"}), facts(equivalent={"M1"})], ids=["completed", "equivalent"]
)
def test_module_1_or_equivalent_is_met_by_either(known: Facts) -> None:
    """Either branch of an any unlocks."""
    assert evaluate(M1_OR_EQUIVALENT, known, NAMES).met


def test_pending_equivalency_is_not_a_fact_so_it_does_not_unlock() -> None:
    """Only approved equivalents are facts: completing another item is not the same item."""
    assert not evaluate(M1_OR_EQUIVALENT, facts(completed={"M2"}), NAMES).met


def test_all_lists_every_missing_part_and_unions_their_steps() -> None:
    """All: every unmet child is named and each one's steps are needed."""
    rule = {"all": [{"completed": "M2"}, {"completed": "M3"}, {"licensed": True}]}
    result = evaluate(rule, facts(completed={"M2"}), NAMES)
    assert (
        result.explanation == f"Complete Module 3 and {LICENCE_STEP[0].lower()}{LICENCE_STEP[1:]}."
    )
    assert result.steps == ("Complete Module 3", LICENCE_STEP)
    assert result.missing_codes == frozenset({"M3"})


def test_all_does_not_repeat_a_step_shared_by_two_children() -> None:
    """Two children that both need Module 1 give one step."""
    rule = {"all": [M1_OR_EQUIVALENT, {"any": [{"completed": "M1"}, {"completed": "HTH"}]}]}
    assert evaluate(rule, facts(), NAMES).steps == ("Complete Module 1",)


def test_any_picks_the_cheapest_branch() -> None:
    """A one-step branch beats a two-step branch listed first."""
    rule = {"any": [{"all": [{"completed": "M2"}, {"completed": "M3"}]}, {"completed": "M4"}]}
    result = evaluate(rule, facts(), NAMES)
    assert result.steps == ("Complete Module 4",)
    assert result.explanation == "Complete Module 4, or complete Module 2 and complete Module 3."


def test_at_least_suggests_only_the_missing_count() -> None:
    """2 of 3 with one done: one more step, phrased as a choice."""
    rule = {"at_least": 2, "of": [{"completed": "M2"}, {"completed": "M3"}, {"completed": "M4"}]}
    result = evaluate(rule, facts(completed={"M2"}), NAMES)
    assert not result.met
    assert result.steps == ("Complete Module 3",)
    assert result.explanation == "Complete one more of Module 3 or Module 4."


def test_at_least_mixed_leaves_are_listed_as_options() -> None:
    """Options of different kinds are listed with their own verbs."""
    rule = {"at_least": 1, "of": [{"completed": "M2"}, {"equivalent": "M1"}, {"licensed": True}]}
    result = evaluate(rule, facts(), NAMES)
    assert result.explanation.startswith("Do one of the following: complete Module 2; ")
    assert len(result.steps) == 1


def test_at_least_zero_is_met_and_more_than_the_options_is_never_met() -> None:
    """Edges of at_least: 0 is vacuous, len+1 impossible (with a step to get it fixed)."""
    options = [{"completed": "M2"}]
    everything = facts(completed={"M2"}, licensed=True)
    assert evaluate({"at_least": 0, "of": options}, facts(), NAMES).met
    impossible = evaluate({"at_least": 2, "of": options}, everything, NAMES)
    assert not impossible.met
    assert "cannot be met" in impossible.explanation
    assert impossible.steps


def test_licence_step_is_the_retreat_sentence() -> None:
    """The licensed leaf tells pre-licensed clinicians why."""
    result = evaluate({"licensed": True}, facts(), NAMES)
    assert result.explanation == (
        "Hold a verified, current clinical licence "
        "(pre-licensed clinicians cannot attend retreats)."
    )


def test_screening_cleared_leaf() -> None:
    """The screening leaf asks for a medical reviewer's clearance."""
    assert not evaluate({"screening_cleared": True}, facts(), NAMES).met
    assert evaluate({"screening_cleared": True}, facts(screening=True), NAMES).met


def test_ce_hours_threshold_says_how_many_more() -> None:
    """Hours: the gap, the target and what is earned, without trailing zeros."""
    result = evaluate({"ce_hours_at_least": 20}, facts(hours=Decimal("7.50")), NAMES)
    assert result.steps == ("Earn 12.5 more CE hours (20 needed, 7.5 earned so far)",)
    assert evaluate({"ce_hours_at_least": 7.5}, facts(hours="7.50"), NAMES).met


def test_equivalent_without_label_falls_back_to_the_title() -> None:
    """An item with no equivalent_label still gets a readable step."""
    result = evaluate({"equivalent": "M3"}, facts(), NAMES)
    assert result.steps == ("Have an equivalent training to Module 3 approved",)


def test_unknown_code_is_named_by_its_code() -> None:
    """Names missing from the mapping fall back to the code."""
    assert evaluate({"completed": "X9"}, facts(), NAMES).steps == ("Complete X9",)


def test_malformed_rule_raises_rule_error() -> None:
    """Evaluation refuses shapes that validate_rule would refuse."""
    with pytest.raises(RuleError):
        evaluate({"complete": "M1"}, facts(), NAMES)


# --- the real programme rules ------------------------------------------------------------


def test_real_module_2_rule_is_module_1_or_equivalent(programme, programme_names) -> None:
    """Modules 2-5 open with Module 1 or its approved equivalent."""
    for code in ("M2", "M3", "M4", "M5"):
        rule = programme[code]["prerequisite"]
        assert not evaluate(rule, facts(), programme_names).met
        assert evaluate(rule, facts(completed={"M1"}), programme_names).met
        assert evaluate(rule, facts(equivalent={"M1"}), programme_names).met


def test_real_ethics_and_healing_the_healer_need_nothing(programme, programme_names) -> None:
    """No prior KAP training is needed for Ethics and Healing the Healer."""
    for code in ("ETHICS", "HTH"):
        assert evaluate(programme[code].get("prerequisite"), facts(), programme_names).met


def test_real_level_1_opens_with_module_1_and_a_licence(programme, programme_names) -> None:
    """Level 1: Module 1 plus a licence."""
    rule = programme["RETREAT-L1"]["prerequisite"]
    assert evaluate(rule, facts(completed={"M1"}, licensed=True), programme_names).met
    result = evaluate(rule, facts(completed={"M1"}), programme_names)
    assert result.steps == (LICENCE_STEP,)


def test_real_level_1_with_waived_module_1_needs_another_programme_module(
    programme, programme_names
) -> None:
    """Seed page: another Polaris module when the Module 1 equivalent was taken elsewhere."""
    rule = programme["RETREAT-L1"]["prerequisite"]
    waived = facts(equivalent={"M1"}, licensed=True)
    result = evaluate(rule, waived, programme_names)
    assert not result.met
    assert result.steps == ("Complete Module 2",)  # the branch already half done wins the tie
    assert result.explanation.startswith("Complete one of Modules 2–7, Healing the Healer")
    assert evaluate(
        rule, facts(equivalent={"M1"}, completed={"HTH"}, licensed=True), programme_names
    ).met


def test_real_level_1_for_a_newcomer_names_both_routes_and_the_licence(
    programme, programme_names
) -> None:
    """A pre-licensed newcomer sees Module 1, the equivalent route and the licence."""
    result = evaluate(programme["RETREAT-L1"]["prerequisite"], facts(), programme_names)
    assert result.steps == ("Complete Module 1", LICENCE_STEP)
    assert result.explanation.startswith(
        f"Complete Module 1, or have an equivalent {M1_LABEL} approved and complete one of"
    )
    assert result.explanation.endswith("; and " + LICENCE_STEP[0].lower() + LICENCE_STEP[1:] + ".")


def test_real_advanced_retreat_opens_with_level_1_or_approved_equivalent(
    programme, programme_names
) -> None:
    """Advanced: Level 1 attended or an approved equivalent retreat, plus a licence."""
    rule = programme["RETREAT-ADV"]["prerequisite"]
    assert evaluate(rule, facts(completed={"RETREAT-L1"}, licensed=True), programme_names).met
    assert evaluate(rule, facts(equivalent={"RETREAT-L1"}, licensed=True), programme_names).met
    result = evaluate(rule, facts(completed={"M1"}, licensed=True), programme_names)
    assert result.explanation == (
        "Complete Level 1 Retreat, or have an equivalent experiential KAP retreat with another "
        "programme approved."
    )


def test_real_diamonds_from_heaven_needs_only_a_licence(programme, programme_names) -> None:
    """DFH: licensed clinicians only."""
    rule = programme["RETREAT-DFH"]["prerequisite"]
    assert evaluate(rule, facts(licensed=True), programme_names).met
    assert not evaluate(rule, facts(completed={"M1", "M2"}), programme_names).met


def test_real_level_1_recommendation_is_modules_1_to_5(programme, programme_names) -> None:
    """The soft rule asks for Modules 1-5."""
    rule = programme["RETREAT-L1"]["recommended"]
    assert not evaluate(rule, facts(completed={"M1", "M2", "M3", "M4"}), programme_names).met
    assert evaluate(rule, facts(completed={"M1", "M2", "M3", "M4", "M5"}), programme_names).met


def test_real_rules_are_valid_and_acyclic(programme) -> None:
    """Every rule in the default catalogue validates and there is no cycle."""
    codes = set(programme)
    for code, item in programme.items():
        assert validate_rule(item.get("prerequisite"), codes) == [], code
        assert validate_rule(item.get("recommended"), codes) == [], code
    assert find_cycle({c: i.get("prerequisite") for c, i in programme.items()}) is None


# --- validation, structure, words --------------------------------------------------------


def test_validate_reports_each_problem_with_its_path() -> None:
    """Unknown codes, unknown keys, wrong types and out-of-range counts, all at once."""
    rule = {
        "all": [
            {"completed": "M9"},
            {"complete": "M1"},
            {"at_least": 3, "of": [{"licensed": False}]},
            5,
            {"equivalent": 7},
            {"ce_hours_at_least": "ten"},
            {"any": []},
        ]
    }
    problems = validate_rule(rule, {"M1"})
    assert problems == [
        "$.all[0].completed: unknown item code 'M9'",
        "$.all[1]: unknown key 'complete'; expected one of all, any, at_least, "
        "ce_hours_at_least, completed, distinct_clients_at_least, document_approved, "
        "equivalent, licensed, logged, screening_cleared, within_months",
        "$.all[2].at_least: 3 is out of range; it must be between 0 and 1 "
        "(the number of options in 'of')",
        "$.all[2].of[0].licensed: expected true, got false",
        "$.all[3]: expected a rule (a table/object), got a number",
        "$.all[4].equivalent: expected an item code (text), got a number",
        "$.all[5].ce_hours_at_least: expected a number of hours, got text",
        "$.all[6].any: an empty 'any' can never be met; give at least one option",
    ]


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"at_least": True, "of": []}, "$.at_least: expected a whole number"),
        ({"at_least": -1, "of": []}, "$.at_least: -1 is out of range"),
        ({"of": []}, "$: 'of' needs an 'at_least' count"),
        ({"at_least": 1}, "$: 'at_least' needs an 'of' list"),
        ({"at_least": 1, "of": [], "x": 1}, "$: unknown key 'x' beside"),
        ({"completed": "M1", "licensed": True}, "$: a rule node has exactly one key"),
        ({}, "$: empty rule"),
        ({"all": {"completed": "M1"}}, "$.all: expected a list of rules"),
        ({"ce_hours_at_least": -2}, "$.ce_hours_at_least: expected zero or more hours"),
        ([{"completed": "M1"}], "$: expected a rule (a table/object), got a list"),
    ],
)
def test_validate_refuses_malformed_nodes(rule, fragment: str) -> None:
    """Each malformed shape gives a problem at the right place."""
    problems = validate_rule(rule, {"M1"})
    assert any(p.startswith(fragment) for p in problems), problems


def test_validate_accepts_none_and_every_node_kind() -> None:
    """A rule using every node kind correctly has no problems."""
    rule = {
        "all": [
            {"any": [{"completed": "M1"}, {"equivalent": "M1"}]},
            {"at_least": 1, "of": [{"screening_cleared": True}, {"ce_hours_at_least": 7.5}]},
            {"licensed": True},
        ]
    }
    assert validate_rule(rule, {"M1"}) == []
    assert validate_rule(None, set()) == []


def test_referenced_codes_collects_completed_and_equivalent_leaves() -> None:
    """Codes from anywhere in the tree."""
    rule = {"all": [M1_OR_EQUIVALENT, {"at_least": 1, "of": [{"completed": "M2"}]}]}
    assert referenced_codes(rule) == {"M1", "M2"}
    assert referenced_codes(None) == set()


def test_find_cycle_returns_the_path() -> None:
    """M2 needs M1 and M1 needs M2: the path closes on itself."""
    assert find_cycle({"M1": {"completed": "M2"}, "M2": {"completed": "M1"}}) in (
        ["M1", "M2", "M1"],
        ["M2", "M1", "M2"],
    )


def test_find_cycle_finds_long_and_self_cycles_and_ignores_dags() -> None:
    """Three-step cycles and self references are found; a diamond is not a cycle."""
    three = {"A": {"completed": "B"}, "B": {"equivalent": "C"}, "C": {"completed": "A"}}
    assert find_cycle(three) == ["A", "B", "C", "A"]
    assert find_cycle({"A": {"completed": "A"}}) == ["A", "A"]
    diamond = {
        "A": None,
        "B": {"completed": "A"},
        "C": {"completed": "A"},
        "D": {"all": [{"completed": "B"}, {"completed": "C"}]},
    }
    assert find_cycle(diamond) is None


def test_describe_puts_rules_in_words() -> None:
    """Catalogue pages show rules as a person would say them."""
    assert describe(M1_OR_EQUIVALENT, NAMES) == f"Module 1, or an approved equivalent {M1_LABEL}"
    assert describe(None, NAMES) == "None"
    assert describe({"licensed": True}, NAMES) == "A verified, current clinical license"
    rule = {"all": [M1_OR_EQUIVALENT, {"licensed": True}]}
    assert describe(rule, NAMES) == (
        f"Module 1, or an approved equivalent {M1_LABEL}; and a verified, current clinical license"
    )
    two_of = {"at_least": 2, "of": [{"completed": "M2"}, {"completed": "M3"}, {"completed": "M4"}]}
    assert describe(two_of, NAMES) == "At least 2 of Modules 2–4"
    two_of["of"].append({"completed": "HTH"})
    assert describe(two_of, NAMES) == "At least 2 of Modules 2–4 or Healing the Healer"
    assert describe({"ce_hours_at_least": 12}, NAMES) == "At least 12 CE hours"


def _nested(depth: int) -> dict:
    """A rule of `depth` levels: "all" combinators around one leaf (the leaf is the last)."""
    rule: dict = {"completed": "M1"}
    for _ in range(depth - 1):
        rule = {"all": [rule]}
    return rule


def test_rules_nest_at_most_max_depth_levels_with_a_clear_message():
    assert validate_rule(_nested(MAX_DEPTH), {"M1"}) == []
    problems = validate_rule(_nested(MAX_DEPTH + 1), {"M1"})
    assert len(problems) == 1 and "nested at most 32 levels deep" in problems[0]
    # Far past Python's recursion limit: still one problem, no RecursionError.
    assert validate_rule(_nested(5000), {"M1"}) == [
        "$" + ".all[0]" * MAX_DEPTH + ": rules may be nested at most 32 levels deep"
    ]


def test_evaluate_and_describe_refuse_a_rule_deeper_than_the_limit():
    assert evaluate(_nested(MAX_DEPTH), facts(completed={"M1"}), NAMES).met
    with pytest.raises(RuleError, match="32 levels"):
        evaluate(_nested(MAX_DEPTH + 1), facts(), NAMES)
    with pytest.raises(RuleError, match="32 levels"):
        describe(_nested(5000), NAMES)


# --- the explanation as a list ----------------------------------------------------------


def test_alternatives_are_set_out_one_per_item(programme, programme_names) -> None:
    """Level 1 for a licensed newcomer: two ways in, the second with both of its parts."""
    rule = programme["RETREAT-L1"]["prerequisite"]
    result = evaluate(rule, facts(licensed=True), programme_names)
    assert result.outline == Outline(
        "Do one of these:",
        (
            Outline("Complete Module 1"),
            Outline(
                f"Have an equivalent {M1_LABEL} approved and complete one of Modules 2–7, "
                "Healing the Healer, Music Module, Rainfall Medical Module, Integration Module, "
                "Ethics Module or ACT Module"
            ),
        ),
    )


def test_parts_that_must_all_hold_are_listed_when_one_holds_alternatives(
    programme, programme_names
) -> None:
    """Unlicensed: the two ways in, and the licence beside them, not inside the second."""
    rule = programme["RETREAT-L1"]["prerequisite"]
    outline = evaluate(rule, facts(), programme_names).outline
    assert outline.text == "Do all of these:"
    ways, licence = outline.parts
    assert ways.text == "Do one of these:" and len(ways.parts) == 2
    assert licence == Outline(LICENCE_STEP)


def test_a_single_missing_step_is_one_line_and_met_rules_have_no_outline() -> None:
    result = evaluate({"completed": "M2"}, facts(), NAMES)
    assert result.outline == Outline("Complete Module 2.") and not result.outline.parts
    assert evaluate({"completed": "M2"}, facts(completed={"M2"}), NAMES).outline is None
    mixed = {"at_least": 1, "of": [{"completed": "M2"}, {"licensed": True}, {"completed": "M3"}]}
    outline = evaluate(mixed, facts(), NAMES).outline
    assert outline.text == "Do one of these:"
    assert [o.text for o in outline.parts] == [
        "Complete Module 2",
        LICENCE_STEP,
        "Complete Module 3",
    ]


def test_an_outline_survives_its_json_round_trip() -> None:
    outline = evaluate({"any": [M1_OR_EQUIVALENT, {"licensed": True}]}, facts(), NAMES).outline
    assert Outline.from_json(outline.json) == outline
    assert Outline.from_json(None) is None and Outline.from_json({"parts": []}) is None


def test_numbered_names_fold_into_ranges_only_when_consecutive() -> None:
    assert compact_names(["Module 2", "Module 3", "Module 4", "Music"]) == ["Modules 2–4", "Music"]
    assert compact_names(["Module 2", "Module 3"]) == ["Module 2", "Module 3"]
    assert compact_names(["Module 2", "Module 4", "Module 5"]) == [
        "Module 2",
        "Module 4",
        "Module 5",
    ]
    assert compact_names(["Level 1", "Module 2", "Module 3", "Module 4"]) == [
        "Level 1",
        "Modules 2–4",
    ]

"""Properties of the rule algebra, checked with hypothesis over random rules and facts."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lms.catalog.rule_checks import validate_rule
from lms.catalog.rules import Facts, ItemName, evaluate

CODES = ("M1", "M2", "M3", "HTH", "RETREAT-L1")
NAMES = {code: ItemName(f"Item {code}", f"outside {code} training") for code in CODES}

codes = st.sampled_from(CODES)
hours = st.decimals(min_value=0, max_value=60, places=2)
leaves = st.one_of(
    st.builds(lambda c: {"completed": c}, codes),
    st.builds(lambda c: {"equivalent": c}, codes),
    st.just({"licensed": True}),
    st.just({"screening_cleared": True}),
    st.builds(lambda h: {"ce_hours_at_least": h}, st.integers(min_value=0, max_value=60)),
)


def _combinators(children: st.SearchStrategy) -> st.SearchStrategy:
    """all / any / at_least N of, over non-empty child lists with N in range."""
    lists = st.lists(children, min_size=1, max_size=4)
    return st.one_of(
        st.builds(lambda xs: {"all": xs}, lists),
        st.builds(lambda xs: {"any": xs}, lists),
        lists.flatmap(
            lambda xs: st.integers(min_value=0, max_value=len(xs)).map(
                lambda n: {"at_least": n, "of": xs}
            )
        ),
    )


rules = st.recursive(leaves, _combinators, max_leaves=12)
facts = st.builds(
    Facts,
    completed=st.frozensets(codes),
    equivalent=st.frozensets(codes),
    licensed=st.booleans(),
    screening_cleared=st.booleans(),
    ce_hours=hours,
)


def more(small: Facts, extra: Facts) -> Facts:
    """Facts that include everything in `small` and more."""
    return Facts(
        completed=small.completed | extra.completed,
        equivalent=small.equivalent | extra.equivalent,
        licensed=small.licensed or extra.licensed,
        screening_cleared=small.screening_cleared or extra.screening_cleared,
        ce_hours=max(small.ce_hours, extra.ce_hours),
    )


def met(rule: dict, known: Facts) -> bool:
    """Shorthand."""
    return evaluate(rule, known, NAMES).met


@given(rules)
def test_generated_rules_are_valid(rule: dict) -> None:
    """The generator only makes rules validate_rule accepts (so the properties mean something)."""
    assert validate_rule(rule, CODES) == []


@given(st.lists(rules, min_size=1, max_size=4), facts, st.data())
def test_any_containing_a_met_rule_is_met(others: list[dict], known: Facts, data) -> None:
    """any([..., met, ...]) is met."""
    chosen = data.draw(st.sampled_from(others))
    if met(chosen, known):
        position = data.draw(st.integers(min_value=0, max_value=len(others)))
        assert met({"any": [*others[:position], chosen, *others[position:]]}, known)


@given(st.lists(rules, min_size=1, max_size=4), facts)
def test_all_is_met_iff_every_child_is_met(children: list[dict], known: Facts) -> None:
    """all(xs) == every(x met)."""
    assert met({"all": children}, known) == all(met(child, known) for child in children)


@given(st.lists(rules, min_size=1, max_size=4), facts)
def test_any_is_met_iff_some_child_is_met(children: list[dict], known: Facts) -> None:
    """any(xs) == some(x met)."""
    assert met({"any": children}, known) == any(met(child, known) for child in children)


@given(st.lists(rules, min_size=0, max_size=4), facts)
def test_at_least_zero_is_always_met(children: list[dict], known: Facts) -> None:
    """Nothing asked, nothing missing."""
    assert met({"at_least": 0, "of": children}, known)


@given(st.lists(rules, min_size=0, max_size=4), facts)
def test_at_least_more_than_the_options_is_never_met(children: list[dict], known: Facts) -> None:
    """len + 1 of len options can never be met, however much is known."""
    result = evaluate({"at_least": len(children) + 1, "of": children}, known, NAMES)
    assert not result.met
    assert result.explanation and result.steps


@given(rules, facts)
def test_explanation_and_steps_are_empty_iff_met(rule: dict, known: Facts) -> None:
    """A met rule says nothing; an unmet one always says something and offers a step."""
    result = evaluate(rule, known, NAMES)
    assert (result.explanation == "") == result.met
    assert (result.steps == ()) == result.met
    if not result.met:
        assert result.explanation.endswith(".") and result.explanation[0].isupper()
        assert len(set(result.steps)) == len(result.steps)


@given(rules, facts, facts)
def test_more_facts_never_unmeet_a_rule(rule: dict, small: Facts, extra: Facts) -> None:
    """Evaluation is monotonic: learning more never locks anything."""
    if met(rule, small):
        assert met(rule, more(small, extra))


@given(rules, facts)
def test_taking_the_steps_unlocks(rule: dict, known: Facts) -> None:
    """Doing exactly what the steps say (and nothing else) meets the rule."""
    result = evaluate(rule, known, NAMES)
    if result.met:
        return
    completed, equivalent = set(known.completed), set(known.equivalent)
    licensed, screening, ce_hours = known.licensed, known.screening_cleared, known.ce_hours
    for step in result.steps:
        if step.startswith("Complete Item "):
            completed.add(step.removeprefix("Complete Item "))
        elif step.startswith("Have an equivalent outside "):
            equivalent.add(step.removeprefix("Have an equivalent outside ").split(" ")[0])
        elif "licence" in step:
            licensed = True
        elif "screening" in step:
            screening = True
        elif "CE hours" in step:
            ce_hours = Decimal(1000)
        else:
            raise AssertionError(f"unexpected step {step!r}")
    after = Facts(frozenset(completed), frozenset(equivalent), licensed, screening, ce_hours)
    assert met(rule, after), (rule, known, result)
    assert result.missing_codes <= completed | equivalent


def _rebuilt(known: Facts) -> Facts:
    """The same facts in sets built in the opposite order (another iteration order where the
    hash seed allows), as a database read in another order would give them."""
    return Facts(
        completed=frozenset(sorted(known.completed, reverse=True)),
        equivalent=frozenset(sorted(known.equivalent, reverse=True)),
        licensed=known.licensed,
        screening_cleared=known.screening_cleared,
        ce_hours=Decimal(str(known.ce_hours)),
    )


@settings(max_examples=50)
@given(rules, facts)
def test_evaluation_is_deterministic(rule: dict, known: Facts) -> None:
    """Equal rules and equal facts give the same answer, word for word: the rule as stored
    (a JSON round trip) and facts gathered in another order change nothing."""
    first = evaluate(rule, known, NAMES)
    stored = json.loads(json.dumps(rule))
    assert evaluate(stored, _rebuilt(known), NAMES) == first
    assert evaluate(stored, _rebuilt(known), dict(reversed(NAMES.items()))) == first

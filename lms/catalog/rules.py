"""Prerequisite rules: pure evaluation of JSON rule trees against one clinician's facts.

A rule is a small JSON tree. Leaves: {"completed": CODE}, {"equivalent": CODE},
{"licensed": true}, {"screening_cleared": true}, {"ce_hours_at_least": N}, and those of a
programme credential (the Certificate of Training): {"logged": {"kind": KIND, "count": N,
"hours": H}} (confirmed entries of a log; count, hours or both), {"distinct_clients_at_least":
N}, {"document_approved": KIND} and {"within_months": N} (lms.catalog.credential_leaves).
Combinators:
{"all": [...]}, {"any": [...]}, {"at_least": N, "of": [...]}. `None` means "no rule".
This module imports nothing from Flask or SQLAlchemy so it can be tested and reused alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lms.catalog.credential_leaves import CREDENTIAL_LEAVES, TrainingFacts, credential_words
from lms.i18n import marked, translate

LEAF_KEYS = frozenset(
    {
        "completed",
        "equivalent",
        "licensed",
        "screening_cleared",
        "ce_hours_at_least",
        "logged",
        "distinct_clients_at_least",
        "document_approved",
        "within_months",
    }
)
COMBINATOR_KEYS = frozenset({"all", "any", "at_least"})
# How deep combinators may nest. Real rules use three or four levels; the bound keeps every
# walk over a rule (validation, evaluation, words) far from Python's recursion limit.
MAX_DEPTH = 32
DEPTH_MESSAGE = f"rules may be nested at most {MAX_DEPTH} levels deep"

# The fixed steps are stored as written (British source spelling: the progress read model
# keeps them and retreats compare them); pages show them through `in_locale`.
LICENCE_STEP = marked(
    "Hold a verified, current clinical licence (pre-licensed clinicians cannot attend retreats)"
)
SCREENING_STEP = marked("Have your medical screening cleared by a medical reviewer")
IMPOSSIBLE_STEP = marked("Ask the programme team to correct this item's prerequisite")
FIXED_STEPS = (LICENCE_STEP, SCREENING_STEP, IMPOSSIBLE_STEP)


def in_locale(text: str) -> str:
    """A stored explanation or step as the programme locale spells it: each fixed step in it
    (at the start of a sentence or within one) swapped for its translation."""
    for step in FIXED_STEPS:
        for form in (step, step[0].lower() + step[1:]):
            if form in text:
                shown = translate(step)
                text = text.replace(form, shown if form == step else shown[0].lower() + shown[1:])
    return text


class RuleError(ValueError):
    """A rule is not shaped like a rule (validate_rule explains why)."""


@dataclass(frozen=True)
class Facts:
    """What is true of one clinician, as far as rules are concerned."""

    completed: frozenset[str]
    equivalent: frozenset[str]
    licensed: bool
    screening_cleared: bool = False
    ce_hours: Decimal = Decimal(0)
    training: TrainingFacts = TrainingFacts()


@dataclass(frozen=True)
class ItemName:
    """How an item is named in explanations."""

    title: str
    equivalent_label: str = ""


@dataclass(frozen=True)
class Outline:
    """What is missing as a list a page can show: one line, or a lead-in and its parts.

    The explanation sentence says the same in one line ("Complete Module 1, or have ...
    approved and complete one of ..."); the outline sets its alternatives out one per part
    so that "A, or B and C" cannot be misread: `Outline("Do one of these:", (A, B_and_C))`.
    Its JSON form (what the standings store and pages read) has the same two names.
    """

    text: str
    parts: tuple[Outline, ...] = ()

    @functools.cached_property
    def json(self) -> dict[str, Any]:
        """The outline as JSON-able data, built once (verdicts, and so outlines, are shared)."""
        data: dict[str, Any] = {"text": self.text}
        if self.parts:
            data["parts"] = [part.json for part in self.parts]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Outline | None:
        """An outline from its JSON form; None for none (or data of another shape)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            return None
        parts = tuple(
            part for part in map(cls.from_json, data.get("parts") or ()) if part is not None
        )
        return cls(data["text"], parts)


@dataclass(frozen=True)
class Evaluation:
    """The verdict on a rule: met or not, why not, and the fewest steps that unlock it."""

    met: bool
    explanation: str = ""
    steps: tuple[str, ...] = ()
    missing_codes: frozenset[str] = frozenset()
    outline: Outline | None = None  # the explanation as a list (None when met)


@dataclass(frozen=True)
class _Result:
    """Evaluation of one node: its steps when unmet and a lower-case phrase for sentences."""

    met: bool
    phrase: str = ""
    steps: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()
    # The phrase holds alternatives (", or" / ";"), so an enclosing "all" joins with "; and"
    # to keep "A, or B; and C" from reading as "A, or (B and C)".
    compound: bool = False
    progress: int = 0  # met leaves below this node: breaks ties towards work already done
    outline: Outline | None = None  # unmet nodes only: the phrase as a list

    def listed(self) -> Outline:
        """This node as a list item: its own outline, or its phrase as one line."""
        return self.outline or Outline(_capitalised(self.phrase))


_MET = _Result(met=True, progress=1)


def evaluate(
    rule: dict[str, Any] | None, facts: Facts, names: Mapping[str, ItemName]
) -> Evaluation:
    """Evaluate a rule for one clinician; `None` is always met."""
    if rule is None:
        return Evaluation(met=True)
    result = _evaluate(rule, facts, names, 1)
    if result.met:
        return Evaluation(met=True)
    explanation = _sentence(result.phrase)
    outline = result.outline if result.outline and result.outline.parts else None
    return Evaluation(
        met=False,
        explanation=explanation,
        steps=result.steps,
        missing_codes=result.codes,
        outline=outline or Outline(explanation),
    )


def _evaluate(rule: Any, facts: Facts, names: Mapping[str, ItemName], depth: int) -> _Result:
    """Evaluate one node of the tree (`depth` is 1 at the root)."""
    key = _node_key(rule, depth)
    if key == "completed":
        code = rule["completed"]
        if code in facts.completed:
            return _MET
        return _leaf(f"Complete {_title(code, names)}", codes=frozenset({code}))
    if key == "equivalent":
        code = rule["equivalent"]
        if code in facts.equivalent:
            return _MET
        return _leaf(
            f"Have an equivalent {_equivalent_label(code, names)} approved", frozenset({code})
        )
    if key == "licensed":
        return _MET if facts.licensed or not rule["licensed"] else _leaf(LICENCE_STEP)
    if key == "screening_cleared":
        cleared = facts.screening_cleared or not rule["screening_cleared"]
        return _MET if cleared else _leaf(SCREENING_STEP)
    if key == "ce_hours_at_least":
        needed = decimal_value(rule["ce_hours_at_least"])
        if facts.ce_hours >= needed:
            return _MET
        return _leaf(
            f"Earn {_hours(needed - facts.ce_hours)} more CE hours "
            f"({_hours(needed)} needed, {_hours(facts.ce_hours)} earned so far)"
        )
    if key in CREDENTIAL_LEAVES:
        missing = CREDENTIAL_LEAVES[key](rule[key], facts.training)
        return _MET if missing is None else _leaf(missing)
    if key == "all":
        return _evaluate_all([_evaluate(c, facts, names, depth + 1) for c in rule["all"]])
    if key == "any":
        return _evaluate_any([_evaluate(c, facts, names, depth + 1) for c in rule["any"]])
    children = [_evaluate(child, facts, names, depth + 1) for child in rule["of"]]
    return _evaluate_at_least(rule["at_least"], children, rule["of"])


def _leaf(step: str, codes: frozenset[str] = frozenset()) -> _Result:
    """An unmet leaf: one step, whose lower-cased form is also its phrase."""
    return _Result(met=False, phrase=_lower_first(step), steps=(step,), codes=codes)


def _evaluate_all(children: list[_Result]) -> _Result:
    """All children must hold: every unmet child's steps are needed."""
    progress = sum(c.progress for c in children)
    unmet = [c for c in children if not c.met]
    if not unmet:
        return _Result(met=True, progress=progress)
    compound = any(c.compound for c in unmet)
    return _Result(
        met=False,
        phrase=_join_and([(c.phrase, c.compound) for c in unmet]),
        steps=_union(c.steps for c in unmet),
        codes=frozenset().union(*(c.codes for c in unmet)),
        compound=compound,
        progress=progress,
        outline=_all_outline(unmet, compound),
    )


def _all_outline(unmet: list[_Result], compound: bool) -> Outline | None:
    """Parts that must all hold: one line while none holds alternatives, else a list."""
    if len(unmet) == 1:
        return unmet[0].outline
    if not compound:
        return None  # "Have ... approved and complete one of ..." reads well as one line
    return Outline("Do all of these:", tuple(c.listed() for c in unmet))


def _evaluate_any(children: list[_Result]) -> _Result:
    """One child suffices: the cheapest branch gives the steps; the phrase lists them all."""
    progress = sum(c.progress for c in children)
    if any(c.met for c in children):
        return _Result(met=True, progress=progress)
    if not children:
        return _impossible("it offers no options")
    # Fewest steps first; on a tie the branch already partly done (Module 1 waived, say),
    # then the file's order (sorted is stable).
    ranked = sorted(children, key=lambda c: (len(c.steps), -c.progress))
    best = ranked[0]
    outline = (
        best.outline
        if len(ranked) == 1
        else Outline("Do one of these:", tuple(c.listed() for c in ranked))
    )
    return _Result(
        met=False,
        phrase=", or ".join(c.phrase for c in ranked),
        steps=best.steps,
        codes=best.codes,
        compound=len(ranked) > 1 or best.compound,
        progress=progress,
        outline=outline,
    )


def _evaluate_at_least(needed: int, children: list[_Result], rules: list[Any]) -> _Result:
    """N children must hold: the N-k cheapest unmet children give the steps."""
    met_count = sum(1 for c in children if c.met)
    progress = sum(c.progress for c in children)
    if met_count >= needed:
        return _Result(met=True, progress=progress)
    unmet = sorted((c for c in children if not c.met), key=lambda c: (len(c.steps), -c.progress))
    remaining = needed - met_count
    if remaining > len(unmet):
        return _impossible(f"it asks for {needed} of only {len(children)} options")
    chosen = unmet[:remaining]
    steps = _union(c.steps for c in chosen)
    codes = frozenset().union(*(c.codes for c in chosen))
    if remaining == len(unmet):
        compound = any(c.compound for c in chosen)
        phrase = _join_and([(c.phrase, c.compound) for c in chosen])
        return _Result(
            met=False,
            phrase=phrase,
            steps=steps,
            codes=codes,
            compound=compound,
            progress=progress,
            outline=_all_outline(chosen, compound),
        )
    more = " more" if met_count else ""
    count = "one" if remaining == 1 else str(remaining)
    unmet_rules = [r for r, c in zip(rules, children, strict=True) if not c.met]
    if all(_node_key(r) == "completed" for r in unmet_rules):
        # "complete one of Module 2, Module 3 or Module 4" reads better than repeated verbs.
        titles = compact_names([c.phrase.removeprefix("complete ") for c in unmet])
        phrase = f"complete {count}{more} of {_join_or(titles)}"
        return _Result(met=False, phrase=phrase, steps=steps, codes=codes, progress=progress)
    phrase = f"do {count}{more} of the following: " + "; ".join(c.phrase for c in unmet)
    outline = Outline(f"Do {count}{more} of these:", tuple(c.listed() for c in unmet))
    return _Result(
        met=False,
        phrase=phrase,
        steps=steps,
        codes=codes,
        compound=True,
        progress=progress,
        outline=outline,
    )


def _impossible(reason: str) -> _Result:
    """A rule nobody can meet: say so, and point at the people who can fix it."""
    return _Result(
        met=False,
        phrase=f"this prerequisite cannot be met ({reason}); ask the programme team to correct it",
        steps=(IMPOSSIBLE_STEP,),
        compound=True,
    )


def _union(step_lists: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Concatenate step lists, keeping the first occurrence of each step."""
    seen: dict[str, None] = {}
    for steps in step_lists:
        for step in steps:
            seen.setdefault(step, None)
    return tuple(seen)


def _join_and(parts: list[tuple[str, bool]]) -> str:
    """Join (phrase, compound) parts that must all hold.

    Plain parts read as one list ("A, B and C"); parts that hold alternatives are set off
    with semicolons so that "A, or B; and C" cannot be read as "A, or (B and C)".
    """
    segments: list[str | list[str]] = []
    plain: list[str] = []
    for phrase, compound in parts:
        if compound:
            segments.append(phrase)
        else:
            if not plain:
                segments.append(plain)
            plain.append(phrase)
    texts = [_join_list(s) if isinstance(s, list) else s for s in segments]
    return "; and ".join(texts)


def _join_list(words: list[str]) -> str:
    """'A, B and C'."""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


_NUMBERED = re.compile(r"^(.*\S) ([0-9]{1,3})$")


def compact_names(names: Iterable[str]) -> list[str]:
    """Names with runs of three or more numbered ones folded: "Modules 2–7".

    "Module 2, Module 3, Module 4, Module 5, Music Module" becomes "Modules 2–5, Music
    Module": the same items, read at a glance. Only a run of consecutive numbers with one
    prefix folds, in the order given.
    """
    result: list[str] = []
    run: list[tuple[str, int]] = []

    def flush() -> None:
        """Emit the pending run, folded when long enough."""
        if len(run) >= 3:
            result.append(f"{run[0][0]}s {run[0][1]}\u2013{run[-1][1]}")
        else:
            result.extend(f"{prefix} {number}" for prefix, number in run)
        run.clear()

    for name in names:
        match = _NUMBERED.match(name)
        if match and run and run[-1][0] == match[1] and run[-1][1] + 1 == int(match[2]):
            run.append((match[1], int(match[2])))
            continue
        flush()
        if match:
            run.append((match[1], int(match[2])))
        else:
            result.append(name)
    flush()
    return result


def _join_or(words: list[str]) -> str:
    """'A, B or C'."""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _sentence(phrase: str) -> str:
    """Capitalise a phrase and end it with a full stop."""
    text = _capitalised(phrase)
    return text if text.endswith(".") else text + "."


def _capitalised(phrase: str) -> str:
    """A phrase with its first letter in capitals (a list item: no full stop)."""
    return phrase[:1].upper() + phrase[1:]


def _lower_first(text: str) -> str:
    """Lower-case the first letter of an imperative so it can sit inside a sentence."""
    return text[:1].lower() + text[1:]


def _title(code: str, names: Mapping[str, ItemName]) -> str:
    """An item's name, or its code when the catalogue does not know it."""
    name = names.get(code)
    return name.title if name and name.title else code


def _equivalent_label(code: str, names: Mapping[str, ItemName]) -> str:
    """What an outside training standing for the item is called."""
    name = names.get(code)
    if name and name.equivalent_label:
        return name.equivalent_label
    return f"training to {_title(code, names)}"


def decimal_value(value: Any) -> Decimal:
    """A rule's number as a Decimal (floats through str so 7.5 stays 7.5)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _hours(value: Decimal) -> str:
    """Hours without needless trailing zeros: 41, 7.5."""
    return format(value.normalize(), "f")


def _node_key(rule: Any, depth: int = 1) -> str:
    """The node's kind, or RuleError if it is not a well-formed node (or nests too deep)."""
    if depth > MAX_DEPTH:
        raise RuleError(DEPTH_MESSAGE)
    if not isinstance(rule, Mapping):
        raise RuleError(f"a rule must be a table/object, not {type(rule).__name__}")
    keys = set(rule)
    if keys == {"at_least", "of"}:
        return "at_least"
    if len(keys) == 1:
        (key,) = keys
        if key in LEAF_KEYS or key in {"all", "any"}:
            return key
    raise RuleError(f"not a rule node: keys {sorted(keys)}")


# --- words -------------------------------------------------------------------------------


def describe(rule: Any, names: Mapping[str, ItemName]) -> str:
    """A rule in words for catalogue pages: "Module 1, or an approved equivalent ..."."""
    if rule is None:
        return "None"
    text, _compound = _describe(rule, names, 1)
    return text[:1].upper() + text[1:]


def _describe(rule: Any, names: Mapping[str, ItemName], depth: int) -> tuple[str, bool]:
    """One node in words, and whether the words already contain a list."""
    key = _node_key(rule, depth)
    if key == "completed":
        return _title(rule["completed"], names), False
    if key == "equivalent":
        return f"an approved equivalent {_equivalent_label(rule['equivalent'], names)}", False
    if key == "licensed":
        return translate("a verified, current clinical licence"), False
    if key == "screening_cleared":
        return "a cleared medical screening", False
    if key == "ce_hours_at_least":
        return f"at least {_hours(decimal_value(rule['ce_hours_at_least']))} CE hours", False
    if key in CREDENTIAL_LEAVES:
        return credential_words(key, rule[key]), False
    if key == "any":
        parts = [_describe(child, names, depth + 1)[0] for child in rule["any"]]
        if not parts:
            return "nothing (this rule can never be met)", False
        return ", or ".join(parts), len(parts) > 1
    if key == "all":
        described = [_describe(child, names, depth + 1) for child in rule["all"]]
        if not described:
            return "nothing", False
        return _join_and(described), any(c for _, c in described)
    options = [_describe(child, names, depth + 1) for child in rule["of"]]
    count = rule["at_least"]
    parts = [text for text, _ in options]
    if any(c for _, c in options):
        return f"at least {count} of the following: " + "; ".join(parts), True
    return f"at least {count} of {_join_or(compact_names(parts))}", False

"""Checking prerequisite rules before they are stored: every problem of a rule with its JSON
path, the codes a rule names, and cycles among items' prerequisites. Pure, like lms.catalog.rules
(which evaluates the rules these checks accept)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lms.catalog.credential_leaves import DOCUMENT_KINDS, LOGGED_KINDS
from lms.catalog.rules import COMBINATOR_KEYS, DEPTH_MESSAGE, LEAF_KEYS, MAX_DEPTH, decimal_value

# --- validation --------------------------------------------------------------------------


def validate_rule(rule: Any, known_codes: Iterable[str]) -> list[str]:
    """Every problem in a rule, each prefixed with its JSON path ("$.all[0].completed")."""
    if rule is None:
        return []
    problems: list[str] = []
    _validate(rule, frozenset(known_codes), "$", problems, 1)
    return problems


def _validate(rule: Any, known: frozenset[str], path: str, problems: list[str], depth: int) -> None:
    """Check one node and recurse into its children (`depth` is 1 at the root)."""
    if depth > MAX_DEPTH:
        problems.append(f"{path}: {DEPTH_MESSAGE}")
        return
    if not isinstance(rule, Mapping):
        problems.append(f"{path}: expected a rule (a table/object), got {_type_name(rule)}")
        return
    keys = set(rule)
    if not keys:
        problems.append(f"{path}: empty rule; give one of {_known_keys()}")
        return
    if "at_least" in keys or "of" in keys:
        _validate_at_least(rule, known, path, problems, depth)
        return
    unknown = sorted(k for k in keys if k not in LEAF_KEYS and k not in COMBINATOR_KEYS)
    for key in unknown:
        problems.append(f"{path}: unknown key {key!r}; expected one of {_known_keys()}")
    if unknown:
        return
    if len(keys) > 1:
        problems.append(
            f"{path}: a rule node has exactly one key, got {', '.join(sorted(keys))}; "
            'wrap several conditions in {"all": [...]}'
        )
        return
    (key,) = keys
    value = rule[key]
    where = f"{path}.{key}"
    if key in {"completed", "equivalent"}:
        if not isinstance(value, str):
            problems.append(f"{where}: expected an item code (text), got {_type_name(value)}")
        elif value not in known:
            problems.append(f"{where}: unknown item code {value!r}")
    elif key in {"licensed", "screening_cleared"}:
        if value is not True:
            problems.append(f"{where}: expected true, got {_json(value)}")
    elif key == "ce_hours_at_least":
        _validate_hours(value, where, problems)
    elif key == "logged":
        _validate_logged(value, where, problems)
    elif key in {"distinct_clients_at_least", "within_months"}:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{where}: expected a whole number of 1 or more, got {_json(value)}")
    elif key == "document_approved":
        if value not in DOCUMENT_KINDS:
            problems.append(
                f"{where}: expected one of {', '.join(sorted(DOCUMENT_KINDS))}, got {_json(value)}"
            )
    else:  # all / any
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list of rules, got {_type_name(value)}")
            return
        if key == "any" and not value:
            problems.append(f"{where}: an empty 'any' can never be met; give at least one option")
        for index, child in enumerate(value):
            _validate(child, known, f"{where}[{index}]", problems, depth + 1)


def _validate_at_least(
    rule: Mapping, known: frozenset[str], path: str, problems: list[str], depth: int
) -> None:
    """Check an {"at_least": N, "of": [...]} node."""
    extra = sorted(set(rule) - {"at_least", "of"})
    for key in extra:
        problems.append(f"{path}: unknown key {key!r} beside 'at_least'/'of'")
    if "at_least" not in rule:
        problems.append(f"{path}: 'of' needs an 'at_least' count")
        return
    if "of" not in rule:
        problems.append(f"{path}: 'at_least' needs an 'of' list")
        return
    count, options = rule["at_least"], rule["of"]
    if not isinstance(options, list):
        problems.append(f"{path}.of: expected a list of rules, got {_type_name(options)}")
        options = None
    if isinstance(count, bool) or not isinstance(count, int):
        problems.append(f"{path}.at_least: expected a whole number, got {_type_name(count)}")
    elif options is not None and not 0 <= count <= len(options):
        problems.append(
            f"{path}.at_least: {count} is out of range; it must be between 0 and "
            f"{len(options)} (the number of options in 'of')"
        )
    for index, child in enumerate(options or []):
        _validate(child, known, f"{path}.of[{index}]", problems, depth + 1)


def _validate_hours(value: Any, where: str, problems: list[str]) -> None:
    """A CE-hours threshold is a non-negative number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        problems.append(f"{where}: expected a number of hours, got {_type_name(value)}")
        return
    try:
        hours = decimal_value(value)
    except InvalidOperation:
        problems.append(f"{where}: {value!r} is not a number")
        return
    if not hours.is_finite() or hours < 0:
        problems.append(f"{where}: expected zero or more hours, got {value}")


def _validate_logged(value: Any, where: str, problems: list[str]) -> None:
    """A `logged` leaf: a known kind and a count, hours or both."""
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a table with kind, count and/or hours")
        return
    for key in sorted(set(value) - {"kind", "count", "hours"}):
        problems.append(f"{where}: unknown key {key!r}; expected kind, count, hours")
    if value.get("kind") not in LOGGED_KINDS:
        problems.append(
            f"{where}.kind: expected one of {', '.join(sorted(LOGGED_KINDS))}, "
            f"got {_json(value.get('kind'))}"
        )
    if value.get("count") is None and value.get("hours") is None:
        problems.append(f"{where}: give a count, hours or both")
    count = value.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        problems.append(f"{where}.count: expected a whole number of 1 or more, got {_json(count)}")
    if value.get("hours") is not None:
        _validate_hours(value["hours"], f"{where}.hours", problems)
        if value.get("kind") == "therapist_session":
            problems.append(f"{where}.hours: sessions are counted, not timed; give a count")


def _known_keys() -> str:
    """The keys a rule node may have, for messages."""
    return ", ".join(sorted(LEAF_KEYS | {"all", "any", "at_least"}))


# Names of the kinds of value a rule may hold, tried in order (true/false before numbers).
RULE_KINDS: tuple[tuple[Any, str], ...] = (
    (bool, "true/false"),
    (int | float | Decimal, "a number"),
    (str, "text"),
    (list | tuple, "a list"),
    (Mapping, "a table"),
)


def named_kind(value: Any, kinds: tuple[tuple[Any, str], ...]) -> str:
    """A short name of a value's type for messages: "nothing" for None, else the name of the
    first of `kinds` (pairs of types and names) it is an instance of, else the type's own."""
    if value is None:
        return "nothing"
    for types, name in kinds:
        if isinstance(value, types):
            return name
    return type(value).__name__


def _type_name(value: Any) -> str:
    """A JSON-ish name for a value's type."""
    return named_kind(value, RULE_KINDS)


def _json(value: Any) -> str:
    """A value as it would be written in a rule."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return _type_name(value) if isinstance(value, list | Mapping) or value is None else str(value)


# --- structure ---------------------------------------------------------------------------


def referenced_codes(rule: Any) -> set[str]:
    """Item codes a rule names in `completed` or `equivalent` leaves (malformed parts skipped)."""
    codes: set[str] = set()
    stack = [rule]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        for key in ("completed", "equivalent"):
            if isinstance(node.get(key), str):
                codes.add(node[key])
        for key in ("all", "any", "of"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
    return codes


def find_cycle(rules_by_code: Mapping[str, Any]) -> list[str] | None:
    """A dependency cycle between items as a path (["M2", "M1", "M2"]), or None.

    Item A depends on B when A's rule names B. Codes without a rule of their own end a
    path. The search order is sorted so that the same catalogue reports the same cycle.
    """
    edges = {code: sorted(referenced_codes(rule)) for code, rule in rules_by_code.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in sorted(edges):
        if state.get(start):
            continue
        path = [start]
        iterators = [iter(edges[start])]
        state[start] = 1
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if state.get(nxt) == 2 or nxt not in edges:
                continue
            state[nxt] = 1
            path.append(nxt)
            iterators.append(iter(edges[nxt]))
    return None

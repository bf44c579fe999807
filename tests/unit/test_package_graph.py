"""Accounts stay at the bottom of the package graph: auth imports no feature, nothing cycles
through it (module-level imports, as Python runs them; `if TYPE_CHECKING:` blocks excluded)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

LMS = Path(__file__).resolve().parents[2] / "lms"
# What auth may build on: the plumbing every package shares, not another feature (forms and
# validation: the one check of text and dates every form and importer uses).
AUTH_MAY_IMPORT = {
    "audit",
    "clock",
    "config",
    "db",
    "errors",
    "forms",
    "jobs",
    "ratelimit",
    "signals",
    "status",
    "urls",
    "validation",
}


def _package(module: str) -> str:
    """`lms.progress.standings` -> `progress`; top-level modules are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph() -> dict[str, set[str]]:
    """Package -> packages its modules import at module level."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in LMS.rglob("*.py"):
        source = _package("lms." + ".".join(path.relative_to(LMS).with_suffix("").parts))
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "lms":
                    targets = [alias.name for alias in node.names]
                elif node.module.startswith("lms."):
                    targets = [_package(node.module)]
                else:
                    continue
            elif isinstance(node, ast.Import):
                targets = [_package(a.name) for a in node.names if a.name.startswith("lms.")]
            else:
                continue
            graph[source].update(t for t in targets if t != source)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every package reachable from `start` by imports."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(graph.get(package, ()))
    return seen


def test_the_graph_is_read_from_the_source() -> None:
    graph = package_graph()
    assert "auth" in graph["progress"] and "db" in graph["auth"]


def test_auth_imports_no_feature() -> None:
    assert package_graph()["auth"] <= AUTH_MAY_IMPORT


def test_no_cycle_runs_through_auth() -> None:
    graph = package_graph()
    assert "auth" not in reachable(graph, "auth")
    for package in AUTH_MAY_IMPORT:
        assert "auth" not in reachable(graph, package) | {package}, package

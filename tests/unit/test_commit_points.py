"""A unit of work is committed where it ends, nowhere in between: a request by the app, a job
by the queue (lms/jobs.py: after its body, or at a checkpoint it asks for), a command by
the command. Services and job bodies flush; they never commit."""

from __future__ import annotations

import ast
from pathlib import Path

LMS = Path(__file__).resolve().parents[2] / "lms"

# Where a commit may stand, and why.
COMMIT_POINTS = {
    "lms/__init__.py": "the end of a request (after the view answers)",
    "lms/db.py": "the unit of work's own commit (after-commit callbacks run there)",
    "lms/jobs.py": "the end of a job's body, and a job's checkpoints",
    "lms/migrate.py": "a refill after a migration run joins its transaction (commits nothing)",
    "lms/demo/__init__.py": "the `flask lms demo` command",
}


def _commit_calls() -> set[str]:
    """Every `<something>.commit()` call in lms/, as 'path:line'."""
    found = set()
    for path in sorted(LMS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                found.add(f"{path.relative_to(LMS.parent)}:{node.lineno}")
    return found


def test_only_the_ends_of_units_of_work_commit() -> None:
    """A commit outside the listed places and the commands (cli.py) is a service or a job
    committing part of someone else's unit of work."""
    stray = {
        where
        for where in _commit_calls()
        if where.split(":")[0] not in COMMIT_POINTS and not where.split(":")[0].endswith("/cli.py")
    }
    assert stray == set(), "flush in services; a job asks lms.jobs.checkpoint() for a step"


def test_every_listed_commit_point_still_commits() -> None:
    assert {where.split(":")[0] for where in _commit_calls()} >= set(COMMIT_POINTS)

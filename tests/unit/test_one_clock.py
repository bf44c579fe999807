"""Every date comes from the programme's clock (lms.clock): a scan of the code's syntax trees.

Reading the machine's clock (`date.today()`, `datetime.now()`, `datetime.utcnow()`) or taking
`.date()` of a UTC timestamp gives UTC's or the server's date, which is a day ahead of the
programme's every evening in the Pacific. Only lms/clock.py may read the clock or turn an
instant into a date; everything else, tests included, asks it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("lms", "tests", "bench")
CLOCK = ROOT / "lms" / "clock.py"

# Reading the machine's clock: `<name>.<attr>(...)` for these pairs.
CLOCK_READS = {
    ("date", "today"),
    ("datetime", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
}
# strftime directives that print a calendar date (a time of day, %H:%M, is not one).
DATE_DIRECTIVES = re.compile(r"%[YymdbBjaAxFDe]")
# Names of instants whose `.date()` is UTC's date (or the server's), not the programme's.
INSTANT_NAMES = ("now", "utcnow", "astimezone", "local_now")


def _last_name(node: ast.expr) -> str:
    """The last identifier of an expression: `x.issued_at` -> 'issued_at', `f()` -> 'f'."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _an_instant(node: ast.expr) -> bool:
    """Whether an expression names a stored instant (`x.issued_at`, `utcnow()`, `now`)."""
    name = _last_name(node)
    return name.endswith("_at") or name in INSTANT_NAMES


def clock_misuses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each read of the machine's clock, or a calendar date taken from an
    instant: `.date()`, `.year`/`.month`/`.day`, or a `{…:%Y-%m-%d}` format of one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("year", "month", "day")
            and isinstance(node.ctx, ast.Load)
            and _an_instant(node.value)
        ):
            found.append((node.lineno, f"{_last_name(node.value)}.{node.attr}"))
            continue
        if (
            isinstance(node, ast.FormattedValue)
            and node.format_spec is not None
            and DATE_DIRECTIVES.search(ast.unparse(node.format_spec))
            and _an_instant(node.value)
        ):
            found.append((node.lineno, f"{{{_last_name(node.value)}:%...}}"))
            continue
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, owner = node.func.attr, node.func.value
        if (_last_name(owner), attr) in CLOCK_READS and not isinstance(owner, ast.Call):
            found.append((node.lineno, f"{_last_name(owner)}.{attr}()"))
        elif attr == "date" and not node.args and not node.keywords:
            name = _last_name(owner)
            if name.endswith("_at") or name in INSTANT_NAMES:
                found.append((node.lineno, f"{name}.date()"))
    return found


def _python_files() -> list[Path]:
    """Every Python file of the scanned trees, the clock module aside."""
    files = [p for top in SCANNED for p in sorted((ROOT / top).rglob("*.py"))]
    return [p for p in files if p != CLOCK and ".venv" not in p.parts]


def test_nothing_but_the_clock_module_reads_the_clock_or_dates_an_instant() -> None:
    """No file in lms/, tests/ or bench/ computes a date the programme's clock should give."""
    misuses = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _python_files()
        for line, what in clock_misuses(path.read_text(encoding="utf-8"))
    ]
    assert misuses == [], "ask lms.clock (today, local_date, ...):\n" + "\n".join(misuses)


def test_the_scan_covers_the_code_and_the_tests() -> None:
    """The scan reads real files from every tree it names (a moved tree fails here)."""
    scanned = {path.relative_to(ROOT).parts[0] for path in _python_files()}
    assert scanned == set(SCANNED)
    assert len(_python_files()) > 200


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ("from datetime import date\nday = date.today()", "date.today()"),
        ("import datetime\nnow = datetime.datetime.now()", "datetime.now()"),
        ("from datetime import UTC, datetime\nx = datetime.now(UTC)", "datetime.now()"),
        ("from datetime import datetime\nx = datetime.utcnow()", "datetime.utcnow()"),
        ("from datetime import datetime\nx = datetime.today()", "datetime.today()"),
        ("day = certificate.issued_at.date()", "issued_at.date()"),
        ("day = revoked_at.date()", "revoked_at.date()"),
        ("day = utcnow().date()", "utcnow.date()"),
        ("day = now.date()", "now.date()"),
        ("day = moment.astimezone(zone).date()", "astimezone.date()"),
        ("year = certificate.issued_at.year", "issued_at.year"),
        ("name = f'export-{utcnow():%Y-%m-%d}.zip'", "{utcnow:%...}"),
    ],
)
def test_the_scan_finds_each_way_of_getting_the_day_wrong(snippet: str, what: str) -> None:
    """Each form the rule forbids is found (the scan above can fail)."""
    assert [w for _line, w in clock_misuses(snippet)] == [what]


@pytest.mark.parametrize(
    "snippet",
    [
        "day = clock.today()",
        "day = local_date(certificate.issued_at)",
        "day = report_time.date()",  # a wall-clock time from a report, not a stored instant
        "day = date(2026, 12, 5)",
        "day = today(session)",
        "year = completed_on.year",  # a date is already a calendar date
        "text = f'{day.starts_at:%H:%M}'",  # a time of day (named *_at, but a time)
    ],
)
def test_the_scan_leaves_the_programme_clock_alone(snippet: str) -> None:
    """Asking the clock, or dating a wall-clock time, is not a misuse."""
    assert clock_misuses(snippet) == []

"""The table `make bench` prints: one row per measurement against its target, and what missed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    name: str
    measured: str
    target: str
    ratio: str
    passed: bool | None  # None: shown for information, no target

    @property
    def verdict(self) -> str:
        """PASS, FAIL or a dash for informational rows."""
        return "-" if self.passed is None else ("PASS" if self.passed else "FAIL")


def missed(rows: Sequence[Row]) -> list[str]:
    """The names of the rows whose target was missed (informational rows never are)."""
    return [row.name for row in rows if row.passed is False]


def ratio_row(name: str, value: float, bound: float, *, most: bool, unit: str = "x") -> Row:
    """A row comparing a ratio with a bound: at most (`most`) or at least the bound."""
    sign = "<=" if most else ">="
    passed = value <= bound if most else value >= bound
    return Row(
        name, f"{value:.2f}{unit}", f"{sign} {bound:g}{unit}", f"{value / bound:.2f}", passed
    )


def to_row(entry: object) -> Row:
    """Accept a mapping, an object with attributes, or a (name, measured, target, ratio, passed);
    a `passed` of None is an informational row."""
    if isinstance(entry, Row):
        return entry
    if isinstance(entry, tuple | list):
        name, measured, target, ratio, passed = entry
    else:

        def get(key: str, *aliases: str) -> object:
            """Read a field under any of its names."""
            for k in (key, *aliases):
                if isinstance(entry, dict) and k in entry:
                    return entry[k]
                if hasattr(entry, k):
                    return getattr(entry, k)
            return ""

        name, measured, target = get("name"), get("measured"), get("target")
        ratio, passed = get("ratio"), get("passed", "ok", "pass_", "met")
    ratio_text = f"{ratio:.2f}" if isinstance(ratio, float) else str(ratio or "")
    # None (or a missing field) marks an informational row, never a failure.
    verdict = None if passed is None or passed == "" else bool(passed)
    return Row(str(name), str(measured), str(target), ratio_text, verdict)


def print_table(rows: list[Row], title: str) -> None:
    """One aligned table: name, measured, target, ratio, pass/fail."""
    header = Row("benchmark", "measured", "target", "ratio", None)
    columns = list(
        zip(*[(r.name, r.measured, r.target, r.ratio) for r in [header, *rows]], strict=True)
    )
    widths = [max(len(cell) for cell in column) for column in columns]
    print(f"\n{title}")
    for index, row in enumerate([header, *rows]):
        cells = (row.name, row.measured, row.target, row.ratio)
        verdict = "result" if index == 0 else row.verdict
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + verdict)
        if index == 0:
            print("  ".join("-" * w for w in widths) + "  ------")

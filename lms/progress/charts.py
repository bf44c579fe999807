"""Small charts as server-rendered SVG: columns (one per month) and bars (one per stage).

Pure Python, no script and no inline style (the strict CSP): the stylesheet colours the
classes. Each chart is an image whose name is a sentence saying what it shows; the page
puts the same numbers in a table beside it for anyone who does not see the picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = 12  # px in SVG user units (the stylesheet sets the same)
CHAR = 0.62 * FONT  # a generous average advance, for labels laid out without a font


@dataclass(frozen=True)
class Bar:
    """One column or bar: its short label, its value, and the words of its <title>."""

    label: str
    value: int
    words: str = ""
    sublabel: str = ""  # a second line under a column (the year under January)


def nice_top(value: int) -> int:
    """A round axis maximum at or above the value: 1, 2, 5, 10, 20, 50... (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # not reached: 10 * power is always enough


def _svg(width: float, height: float, name: str, body: str, css_class: str) -> Markup:
    """The chart's outer element: an image named by a sentence."""
    return Markup(  # noqa: S704 - every word from data went through escape() in the callers
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
        f'role="img" aria-label="{escape(name)}">{body}</svg>'
    )


def column_chart(bars: Sequence[Bar], name: str, *, width: float = 360) -> Markup:
    """Vertical columns with their values on top and their labels below (months)."""
    height, left, top, bottom = 190.0, 30.0, 18.0, 36.0
    plot_h = height - top - bottom
    step = (width - left - 6) / max(len(bars), 1)
    column = step * 0.68
    peak = nice_top(max((bar.value for bar in bars), default=0))
    parts = []
    for tick in (0, peak // 2, peak) if peak > 1 else (0, peak):
        y = top + plot_h * (1 - tick / peak)
        parts.append(
            f'<line class="grid" x1="{left:g}" x2="{width - 4:g}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 5:g}" y="{y + 4:.1f}">{tick}</text>'
        )
    for index, bar in enumerate(bars):
        x = left + step * index + (step - column) / 2
        h = plot_h * bar.value / peak
        y = top + plot_h - h
        centre = x + column / 2
        parts.append(
            f'<g class="datum"><title>{escape(bar.words or f"{bar.label}: {bar.value}")}</title>'
            f'<rect class="column" x="{x:.1f}" y="{y:.1f}" width="{column:.1f}" '
            f'height="{max(h, 0.0):.1f}"/>'
            f'<text class="value" x="{centre:.1f}" y="{y - 4:.1f}">{bar.value}</text>'
            f'<text class="label" x="{centre:.1f}" y="{top + plot_h + 15:.1f}">'
            f"{escape(bar.label)}</text>"
        )
        if bar.sublabel:
            parts.append(
                f'<text class="label sub" x="{centre:.1f}" y="{top + plot_h + 29:.1f}">'
                f"{escape(bar.sublabel)}</text>"
            )
        parts.append("</g>")
    base = top + plot_h
    parts.append(f'<line class="axis" x1="{left:g}" x2="{width - 4:g}" y1="{base}" y2="{base}"/>')
    return _svg(width, height, name, "".join(parts), "columns")


def bar_chart(bars: Sequence[Bar], name: str, *, width: float = 360) -> Markup:
    """Horizontal bars, one per line, label at the left and value at the bar's end."""
    row, top = 30.0, 6.0
    label_w = min(max((len(bar.label) for bar in bars), default=4) * CHAR + 8, width * 0.45)
    plot_w = width - label_w - 40
    peak = nice_top(max((bar.value for bar in bars), default=0))
    height = top * 2 + row * len(bars)
    parts = []
    for index, bar in enumerate(bars):
        y = top + row * index
        w = plot_w * bar.value / peak
        parts.append(
            f'<g class="datum"><title>{escape(bar.words or f"{bar.label}: {bar.value}")}</title>'
            f'<text class="label" x="{label_w - 8:.1f}" y="{y + row / 2 + 4:.1f}">'
            f"{escape(bar.label)}</text>"
            f'<rect class="bar" x="{label_w:.1f}" y="{y + 5:.1f}" width="{max(w, 0.0):.1f}" '
            f'height="{row - 10:g}"/>'
            f'<text class="value" x="{label_w + w + 5:.1f}" y="{y + row / 2 + 4:.1f}">'
            f"{bar.value}</text></g>"
        )
    parts.append(
        f'<line class="axis" x1="{label_w:.1f}" x2="{label_w:.1f}" y1="{top:g}" '
        f'y2="{height - top:g}"/>'
    )
    return _svg(width, height, name, "".join(parts), "bars")

"""The staff home's charts: round axes, bars in proportion, words escaped, named images."""

from __future__ import annotations

import re

import pytest

from lms.progress.charts import Bar, bar_chart, column_chart, nice_top


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (49, 50), (51, 100)]
)
def test_the_axis_tops_out_at_a_round_number(value, top):
    assert nice_top(value) == top


def heights(svg: str, shape: str) -> list[float]:
    """The drawn sizes of the chart's columns (heights) or bars (widths)."""
    size = "height" if shape == "column" else "width"
    return [float(h) for h in re.findall(rf'<rect class="{shape}"[^>]*? {size}="([\d.]+)"', svg)]


def test_columns_stand_in_proportion_with_their_values_and_labels():
    bars = [Bar("Jan", 4, sublabel="2026"), Bar("Feb", 2), Bar("Mar", 0), Bar("<Apr>", 1)]
    svg = str(column_chart(bars, "Completions per month: 7 in all."))
    tall = heights(svg, "column")
    assert (
        tall[0] == pytest.approx(2 * tall[1])
        and tall[2] == 0
        and tall[3] == pytest.approx(tall[1] / 2)
    )
    assert 'role="img" aria-label="Completions per month: 7 in all."' in svg
    assert ">2026</text>" in svg and "&lt;Apr&gt;" in svg and "<Apr>" not in svg
    assert svg.count('<g class="datum"><title>') == 4
    assert "style=" not in svg and "<script" not in svg


def test_bars_lie_in_proportion_and_say_their_numbers():
    bars = [Bar("Before Module 1", 1), Bar("Module 1", 10), Bar("Level 1 Retreat", 5)]
    svg = str(bar_chart(bars, "Clinicians at each stage: 16 in all."))
    wide = heights(svg, "bar")
    assert wide[1] == pytest.approx(10 * wide[0], rel=0.01)  # drawn to a tenth of a unit
    assert wide[2] == pytest.approx(5 * wide[0], rel=0.01)
    assert ">Module 1</text>" in svg and ">10</text>" in svg
    assert 'aria-label="Clinicians at each stage: 16 in all."' in svg


def test_an_empty_chart_still_draws_its_axis():
    svg = str(column_chart([Bar("Jan", 0)], "Nothing yet."))
    assert 'class="axis"' in svg and heights(svg, "column") == [0]

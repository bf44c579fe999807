"""The pathway picture: nodes, arrows and layers from the catalogue's rules; SVG per person."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from typing import Any

import pytest

from lms.catalog.drawing import NARROW, TEXT_PX, WIDE, Mark, pathway_for
from lms.catalog.pathway_layout import (
    FONT_SIZE,
    Edge,
    edges_of,
    label_lines,
    lay_out,
    layers_of,
    text_width,
)
from lms.catalog.services import DEFAULT_CATALOG


@dataclass(frozen=True)
class Item:
    """A catalogue item as the picture reads it."""

    code: str
    title: str
    short_title: str
    prerequisite: Any = None


@pytest.fixture(scope="module")
def default_items() -> list[Item]:
    """The default catalogue's active items in programme order (read as data)."""
    with DEFAULT_CATALOG.open("rb") as handle:
        data = tomllib.load(handle)
    rows = sorted(data["items"], key=lambda i: i["position"])
    return [
        Item(i["code"], i["title"], i.get("short_title", ""), i.get("prerequisite"))
        for i in rows
        if i.get("active", True)
    ]


def test_arrows_follow_the_rules_solid_when_needed_dashed_when_one_way_in(default_items):
    edges = set(edges_of(default_items))
    assert Edge("M1", "M2", needed=True) in edges  # Module 1 or its equivalent: always M1
    # Level 1: Module 1, or its equivalent with one other module: M1 on every way in.
    assert Edge("M1", "RETREAT-L1", needed=True) in edges
    assert Edge("M2", "RETREAT-L1", needed=False) in edges
    assert Edge("HTH", "RETREAT-L1", needed=False) in edges
    assert Edge("RETREAT-L1", "RETREAT-ADV", needed=True) in edges
    assert not {e for e in edges if "RETREAT-DFH" in (e.source, e.target)}  # a licence only
    assert not {e for e in edges if e.target in {"M1", "HTH", "ETHICS"}}  # no prerequisite


def test_layers_are_prerequisite_depth(default_items):
    codes = [i.code for i in default_items]
    layer = layers_of(codes, edges_of(default_items))
    assert layer["M1"] == layer["HTH"] == layer["ETHICS"] == layer["RETREAT-DFH"] == 0
    assert {layer[c] for c in ("M2", "M7", "MUSIC", "ACT")} == {1}
    assert layer["RETREAT-L1"] == 2 and layer["RETREAT-ADV"] == 3


@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_the_layout_places_every_item_once_inside_the_picture_without_overlaps(
    default_items, width
):
    layout = lay_out(default_items, width)
    assert [n.code for n in layout.nodes] == [i.code for i in default_items]
    for node in layout.nodes:
        assert node.x >= 0 and node.x + node.w <= width, node
        assert node.y >= 0 and node.y + node.h <= layout.height, node
        inner = node.w - 2 * 7 - 13 - 5  # paddings and the icon
        assert all(text_width(line) <= inner + 0.5 for line in node.lines), node
    for a in layout.nodes:
        for b in layout.nodes:
            if a is not b:
                apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
                assert apart, (a, b)
    # Layers read top to bottom.
    top = {n.code: n.y for n in layout.nodes}
    assert top["M1"] < top["M2"] < top["RETREAT-L1"] < top["RETREAT-ADV"]


def test_items_with_the_same_arrows_share_one_frame_and_one_arrow(default_items):
    layout = lay_out(default_items, WIDE)
    frames = {box.codes for box in layout.boxes}
    opened_by_m1 = ("M2", "M3", "M4", "M5", "M6", "M7", "MUSIC", "MEDICAL", "INTEGRATION", "ACT")
    assert opened_by_m1 in frames and ("HTH", "ETHICS") in frames
    into_the_frame = [a for a in layout.arrows if a.targets == opened_by_m1]
    assert len(into_the_frame) == 1 and into_the_frame[0].sources == ("M1",)
    assert (
        len(layout.arrows) == 5
    )  # M1 -> frame, M1 -> L1, frame -> L1, HTH/Ethics -> L1, L1 -> Adv
    skipping = next(
        a for a in layout.arrows if a.sources == ("M1",) and a.targets == ("RETREAT-L1",)
    )
    assert " V" in skipping.path and " H" in skipping.path  # runs down the gutter, not across


def test_an_edited_catalogue_redraws_itself(default_items):
    before = pathway_for(default_items)
    assert pathway_for(list(default_items)) is before  # the same catalogue: laid out once
    ethics_after_m1 = [
        replace(i, prerequisite={"completed": "M1"}) if i.code == "ETHICS" else i
        for i in default_items
    ]
    after = pathway_for(ethics_after_m1)
    assert after is not before
    # Ethics now has the same arrows as the modules Module 1 opens: it joins their frame.
    assert "ETHICS" in next(b.codes for b in after.wide.layout.boxes if "M2" in b.codes)
    assert "ETHICS" in after.layers[1]
    renamed = [replace(i, short_title="Intro") if i.code == "M1" else i for i in default_items]
    assert ">Intro</text>" in pathway_for(renamed).svg({})


def test_long_labels_wrap_onto_two_lines():
    assert label_lines("Module 1") == ("Module 1",)
    assert label_lines("Diamonds from Heaven Retreat") == ("Diamonds from", "Heaven Retreat")


def test_each_node_shows_the_persons_state_with_an_icon_and_words(default_items):
    marks = {
        "M1": Mark("done", "Completed on Mar 2, 2024"),
        "ETHICS": Mark("credited"),
        "M2": Mark("open"),
        "M3": Mark("locked", "Complete Module 1 <first>."),
    }
    svg = str(pathway_for(default_items).svg(marks))
    assert svg.count('class="node is-done"') == 2  # both drawings
    assert svg.count('class="node is-locked"') == 2
    m1 = "Module 1 — Introduction to Ketamine-Assisted Psychotherapy"
    assert f"<title>{m1}: Done. Completed on Mar 2, 2024</title>" in svg
    assert (
        "Module 3 — Intermediate Workshop II: Locked. Complete Module 1 &lt;first&gt;.</title>"
        in svg
    )
    assert "<first>" not in svg  # every word from the catalogue or a person is escaped
    assert svg.count('class="node is-neutral"') == 2 * (len(default_items) - 4)
    assert 'href="#item-M3"' in svg
    # Colour is never the only sign: every state but neutral draws its own icon.
    nodes = [chunk.split("</a>")[0] for chunk in svg.split("<a href=")[1:]]
    with_icon = {re.search(r'is-(\w+)"', node)[1] for node in nodes if '<g class="icon"' in node}
    assert with_icon == {"done", "credited", "open", "locked"}


def test_the_svg_obeys_the_strict_csp_and_has_unique_ids(default_items):
    svg = str(pathway_for(default_items).svg({"M1": Mark("open")}))
    assert "style=" not in svg and "<script" not in svg and "<style" not in svg
    assert not re.search(r"\son[a-z]+=", svg)
    ids = re.findall(r'\sid="([^"]+)"', svg)
    assert len(ids) == len(set(ids)), ids  # the two drawings prefix their ids
    assert svg.count("<svg") == 2 and 'class="pathway-svg narrow"' in svg


def test_a_neutral_picture_has_no_state_words(default_items):
    svg = str(pathway_for(default_items).svg({}))
    assert "<title>Module 2 — Intermediate Workshop I</title>" in svg
    assert "is-locked" not in svg and '<g class="icon"' not in svg


def test_each_drawing_is_drawn_larger_than_its_layout_so_its_text_reads_at_its_size(
    default_items,
):
    """The viewBox is the layout; width and height scale it so labels show at TEXT_PX."""
    svg = str(pathway_for(default_items).svg({}))
    drawn = re.findall(
        r'class="pathway-svg (\w+)" viewBox="0 0 ([\d.]+) ([\d.]+)" '
        r'width="([\d.]+)" height="([\d.]+)"',
        svg,
    )
    assert [variant for variant, *_ in drawn] == ["narrow", "wide"]
    for variant, box_w, box_h, width, height in drawn:
        scale = float(width) / float(box_w)
        assert float(box_w) == {"narrow": NARROW, "wide": WIDE}[variant]
        assert scale * FONT_SIZE == pytest.approx(TEXT_PX[variant], abs=0.01)
        assert float(height) / float(box_h) == pytest.approx(scale, abs=0.01)
    # A 375 px phone leaves the narrow drawing 328 px; a laptop shows the wide one whole.
    assert FONT_SIZE * 328 / NARROW >= 12
    assert TEXT_PX["wide"] >= 14

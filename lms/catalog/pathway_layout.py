"""The programme as a graph laid out for drawing: items as nodes, prerequisites as arrows.

Everything here follows from the catalogue's rules (lms.catalog.rules), so an edited
catalogue redraws itself: an arrow runs from every item a rule names to the item it gates,
drawn solid when the item is needed on every way in and dashed when it is one way among
several; items sit in layers by prerequisite depth, top to bottom; items of one layer with
the same arrows in and out share a box (the ten modules Module 1 opens, say), so one arrow
stands for ten. Pure Python, no Flask: `lay_out(items, width)` gives positions in SVG user
units; lms.catalog.drawing turns them into SVG.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lms.catalog.rule_checks import referenced_codes
from lms.catalog.rules import MAX_DEPTH

FONT_SIZE = 13  # px in SVG user units; the stylesheet sets the same size
# Text is measured without a font: advances per kind of character, in ems, a little wider
# than DejaVu Sans (the widest common sans-serif) so labels fit whatever font draws them; a
# browser test checks that no label runs out of its chip.
NARROW_CHARS = frozenset("fijlrtI.,:;'!|() ")
WIDE_CHARS = frozenset("MWmw")
LINE_HEIGHT = 16
CHIP_PAD_X = 7
CHIP_PAD_Y = 6
ICON = 13  # the state icon at a chip's left
ICON_GAP = 5
CHIP_GAP = 6  # between chips inside a box
BOX_PAD = 6
BLOCK_GAP = 12  # between blocks of one row
ROW_GAP = 8  # between rows that one layer wraps into
LAYER_GAP = 28  # between layers: room for the arrows
MARGIN = 6
LANE = 8  # width of one lane of the left gutter, where arrows that skip a layer run
MAX_LABEL = 150  # a label wider than this wraps onto two lines


@dataclass(frozen=True)
class Edge:
    """An arrow: `source` is named by `target`'s rule; `needed` on every way in, or one way."""

    source: str
    target: str
    needed: bool


# --------------------------------------------------------------------------------------------
# The graph


def edges_of(items: Sequence[Any]) -> list[Edge]:
    """The arrows between the items: every code a rule names that is among the items."""
    codes = {item.code for item in items}
    edges = []
    for item in items:
        rule = item.prerequisite
        if rule is None:
            continue
        needed = _needed(rule, 1)
        for code in sorted(referenced_codes(rule), key=_order_of(items)):
            if code in codes and code != item.code:
                edges.append(Edge(code, item.code, code in needed))
    return edges


def _order_of(items: Sequence[Any]) -> Any:
    """Sort key: programme order of a code (unknown codes last)."""
    order = {item.code: index for index, item in enumerate(items)}
    return lambda code: (order.get(code, len(order)), code)


def _needed(rule: Any, depth: int) -> frozenset[str]:
    """Codes named on every way to meet the rule (completed or its equivalent)."""
    if depth > MAX_DEPTH or not isinstance(rule, Mapping):
        return frozenset()
    for leaf in ("completed", "equivalent"):
        if isinstance(rule.get(leaf), str):
            return frozenset({rule[leaf]})
    if isinstance(rule.get("all"), list):
        return frozenset().union(*(_needed(c, depth + 1) for c in rule["all"]))
    children = rule.get("any") if isinstance(rule.get("any"), list) else None
    if children is None and isinstance(rule.get("of"), list):
        count, options = rule.get("at_least"), rule["of"]
        if count == len(options):  # every option is needed
            return frozenset().union(*(_needed(c, depth + 1) for c in options))
        children = options if count else []
    if not children:
        return frozenset()
    sets = [_needed(child, depth + 1) for child in children]
    return frozenset.intersection(*sets)


def layers_of(codes: Sequence[str], edges: Iterable[Edge]) -> dict[str, int]:
    """Each code's layer: the longest chain of prerequisites above it (0: none).

    Rules are acyclic (the catalogue refuses cycles); a chain is bounded anyway.
    """
    above: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        above[edge.target].add(edge.source)
    layer: dict[str, int] = {}

    def depth(code: str, seen: frozenset[str]) -> int:
        """Longest chain above the code (a cycle, which cannot be loaded, counts as none)."""
        if code in layer:
            return layer[code]
        parents = [p for p in above[code] if p not in seen]
        found = 1 + max((depth(p, seen | {code}) for p in parents), default=-1)
        layer[code] = min(found, len(codes))
        return layer[code]

    for code in codes:
        depth(code, frozenset())
    return layer


def spine(items: Sequence[Any]) -> list[str]:
    """The longest chain of items each needed by the next (Module 1, Level 1, Advanced).

    The stages a clinician moves through on the way to the programme's last item; on a tie
    the chain that ends later in programme order wins.
    """
    codes = [item.code for item in items]
    order = {code: index for index, code in enumerate(codes)}
    above: dict[str, list[str]] = defaultdict(list)
    for edge in edges_of(items):
        if edge.needed:
            above[edge.target].append(edge.source)
    best: dict[str, list[str]] = {}

    def chain(code: str, seen: frozenset[str]) -> list[str]:
        """The longest needed chain ending at the code."""
        if code not in best:
            longest: list[str] = []
            for parent in sorted(above[code], key=order.__getitem__):
                if parent not in seen:
                    found = chain(parent, seen | {code})
                    if len(found) > len(longest):
                        longest = found
            best[code] = [*longest, code]
        return best[code]

    chains = [chain(code, frozenset()) for code in codes]
    return max(chains, key=lambda c: (len(c), order[c[-1]]), default=[])


# --------------------------------------------------------------------------------------------
# The layout


@dataclass(frozen=True)
class Rect:
    """Where a shape of the drawing is: its top-left corner, its width and its height."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Node(Rect):
    """One item's chip: where it is and its label's lines."""

    code: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Box(Rect):
    """A frame around the chips of items that share their arrows."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class Arrow:
    """An arrow as an SVG path, from the block of `sources` to the block of `targets`."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    needed: bool
    path: str


@dataclass(frozen=True)
class Layout:
    """The whole picture in SVG user units."""

    width: float
    height: float
    nodes: tuple[Node, ...]
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    layers: tuple[tuple[str, ...], ...]  # the codes of each layer, top first


@dataclass
class _Block:
    """A chip or a box of chips, placed as one piece."""

    codes: tuple[str, ...]
    layer: int
    chips: list[tuple[str, tuple[str, ...], float, float]]  # code, lines, width, height
    w: float = 0
    h: float = 0
    x: float = 0
    y: float = 0
    row: int = 0  # which of its layer's rows it sits in
    last_row: bool = True  # the layer has no row below this block's
    offsets: list[tuple[float, float]] | None = None  # chip positions inside a box

    @property
    def boxed(self) -> bool:
        """Several chips in a frame."""
        return len(self.codes) > 1


def text_width(text: str) -> float:
    """The estimated width of a label line, in user units."""
    ems = 0.0
    for char in text:
        if char in NARROW_CHARS:
            ems += 0.34
        elif char in WIDE_CHARS:
            ems += 0.9
        elif char.isupper() or char.isdigit():
            ems += 0.7
        else:
            ems += 0.6
    return round(ems * FONT_SIZE * 1.05, 1)


def label_lines(label: str) -> tuple[str, ...]:
    """The label on one line, or on two when it is wide (split at the middle space)."""
    if text_width(label) <= MAX_LABEL or " " not in label:
        return (label,)
    words = label.split(" ")
    best = min(
        range(1, len(words)),
        key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))),
    )
    return (" ".join(words[:best]), " ".join(words[best:]))


def chip_size(lines: tuple[str, ...]) -> tuple[float, float]:
    """A chip's width and height for its label lines."""
    text = max(text_width(line) for line in lines)
    return (
        round(CHIP_PAD_X * 2 + ICON + ICON_GAP + text),
        CHIP_PAD_Y * 2 + LINE_HEIGHT * len(lines),
    )


def lay_out(items: Sequence[Any], width: float) -> Layout:
    """Positions for every item, box and arrow in a picture `width` units wide."""
    codes = [item.code for item in items]
    edges = edges_of(items)
    layer = layers_of(codes, edges)
    labels = {item.code: (item.short_title or item.title) for item in items}
    blocks = _blocks(codes, edges, layer, labels)
    block_of = {code: block for block in blocks for code in block.codes}
    links = _links(edges, block_of)
    # Lanes are known only once blocks are placed (a wrapped row may block an arrow), and
    # placing needs the gutter's width: place, count the lanes, and place again if it grew.
    lanes: list[tuple[int, bool]] = []
    while True:
        height = _place(blocks, links, MARGIN + LANE * len(lanes), width - MARGIN)
        needed = _lanes(links)
        if len(needed) <= len(lanes):
            break
        lanes = needed
    arrows = _arrows(links, _lanes(links), blocks)
    nodes, boxes = [], []
    for block in blocks:
        if block.boxed:
            boxes.append(Box(block.x, block.y, block.w, block.h, codes=block.codes))
        for (code, lines, w, h), (dx, dy) in zip(
            block.chips, block.offsets or [(0, 0)], strict=True
        ):
            nodes.append(Node(block.x + dx, block.y + dy, w, h, code=code, lines=lines))
    order = {code: index for index, code in enumerate(codes)}
    nodes.sort(key=lambda n: order[n.code])
    layers = tuple(
        tuple(c for c in codes if layer[c] == n) for n in range(max(layer.values(), default=-1) + 1)
    )
    return Layout(width, height, tuple(nodes), tuple(boxes), tuple(arrows), layers)


def _blocks(
    codes: list[str], edges: list[Edge], layer: dict[str, int], labels: dict[str, str]
) -> list[_Block]:
    """Chips grouped into blocks: items of a layer with the same arrows share one."""
    ins: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    outs: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    for edge in edges:
        ins[edge.target].add((edge.source, edge.needed))
        outs[edge.source].add((edge.target, edge.needed))
    grouped: dict[tuple, list[str]] = {}
    for code in codes:
        linked = ins[code] or outs[code]
        key = (layer[code], frozenset(ins[code]), frozenset(outs[code])) if linked else (code,)
        grouped.setdefault(key, []).append(code)
    blocks = []
    for members in grouped.values():
        chips = []
        for code in members:
            lines = label_lines(labels[code])
            chips.append((code, lines, *chip_size(lines)))
        blocks.append(_Block(tuple(members), layer[members[0]], chips))
    return blocks


@dataclass
class _Link:
    """An arrow between two blocks, before it has a path."""

    source: _Block
    target: _Block
    needed: bool

    @property
    def long(self) -> bool:
        """It skips at least one layer."""
        return self.target.layer - self.source.layer > 1

    @property
    def routed(self) -> bool:
        """It runs down the gutter: it skips a layer, or a straight arrow would cross a block
        (its source has a row of its layer below it, or its target a row above it)."""
        return self.long or not self.source.last_row or self.target.row > 0


def _links(edges: list[Edge], block_of: dict[str, _Block]) -> list[_Link]:
    """One link per pair of blocks and kind of arrow."""
    seen: dict[tuple[int, int, bool], _Link] = {}
    for edge in edges:
        source, target = block_of[edge.source], block_of[edge.target]
        if source is target or target.layer <= source.layer:
            continue
        seen.setdefault((id(source), id(target), edge.needed), _Link(source, target, edge.needed))
    return list(seen.values())


def _lanes(links: list[_Link]) -> list[tuple[int, bool]]:
    """The left gutter's lanes: one per target block and kind of the arrows that skip layers
    (arrows into one block share a lane, like a bus)."""
    lanes: list[tuple[int, bool]] = []
    for link in links:
        if link.routed and (id(link.target), link.needed) not in lanes:
            lanes.append((id(link.target), link.needed))
    return lanes


def _place(blocks: list[_Block], links: list[_Link], left: float, right: float) -> float:
    """Size and place every block, layer under layer; the picture's height."""
    to_next = {id(link.source) for link in links if not link.long}
    long_out = {id(link.source) for link in links if link.long}
    y = MARGIN
    for layer in sorted({b.layer for b in blocks}):
        mine = [b for b in blocks if b.layer == layer]
        for block in mine:
            _size(block, right - left)
        # Blocks with short arrows down go in the layer's last row (so their arrows cross
        # no other block); blocks whose arrows skip layers go first (leftmost, nearest the
        # gutter); then programme order.
        mine.sort(key=lambda b: (id(b) in to_next, id(b) not in long_out, blocks.index(b)))
        rows: list[list[_Block]] = [[]]
        used = 0.0
        for block in mine:
            if rows[-1] and used + BLOCK_GAP + block.w > right - left:
                rows.append([])
                used = 0.0
            used += (BLOCK_GAP if rows[-1] else 0) + block.w
            rows[-1].append(block)
        for number, row in enumerate(rows):
            row.sort(key=lambda b: (id(b) not in long_out, blocks.index(b)))
            total = sum(b.w for b in row) + BLOCK_GAP * (len(row) - 1)
            x = left + (right - left - total) / 2
            height = max(b.h for b in row)
            for block in row:
                block.x, block.y, block.row = round(x, 1), round(y, 1), number
                block.last_row = number == len(rows) - 1
                x += block.w + BLOCK_GAP
            y += height + (ROW_GAP if number < len(rows) - 1 else 0)
        y += LAYER_GAP
    return round(y - LAYER_GAP + MARGIN, 1)


def _size(block: _Block, room: float) -> None:
    """A chip's own size, or a box flowing its chips into as few lines as the room allows,
    made as narrow as keeps that many lines (balanced lines look calmer)."""
    if not block.boxed:
        block.w, block.h = block.chips[0][2], block.chips[0][3]
        return
    inner = room - 2 * BOX_PAD
    widths = [chip[2] for chip in block.chips]
    lines = len(_flow(widths, inner))
    low, high = max(widths), max(inner, max(widths))
    while high - low > 1:
        middle = (low + high) / 2
        if len(_flow(widths, middle)) > lines:
            low = middle
        else:
            high = middle
    offsets, y, widest = [], 0.0, 0.0
    for line in _flow(widths, high):
        x = 0.0
        line_h = max(block.chips[i][3] for i in line)
        for i in line:
            offsets.append((BOX_PAD + x, BOX_PAD + y))
            x += widths[i] + CHIP_GAP
        widest = max(widest, x - CHIP_GAP)
        y += line_h + CHIP_GAP
    block.offsets = offsets
    block.w = round(widest + 2 * BOX_PAD)
    block.h = round(y - CHIP_GAP + 2 * BOX_PAD)


def _flow(widths: list[float], room: float) -> list[list[int]]:
    """Chip indexes in lines of at most `room` (a chip wider than the room gets its own)."""
    lines: list[list[int]] = [[]]
    x = 0.0
    for index, w in enumerate(widths):
        if lines[-1] and x + CHIP_GAP + w > room:
            lines.append([])
            x = 0.0
        x += (CHIP_GAP if lines[-1] else 0) + w
        lines[-1].append(index)
    return lines


def _arrows(links: list[_Link], lanes: list[tuple[int, bool]], blocks: list[_Block]) -> list[Arrow]:
    """Paths: short arrows curve from a block's foot to the next layer's head; arrows that
    skip layers drop into the gap below their row, run down their lane of the gutter and
    come in over the gap above their target."""
    outs: dict[int, list[_Link]] = defaultdict(list)
    ins: dict[int, list[_Link]] = defaultdict(list)
    for link in links:
        outs[id(link.source)].append(link)
        ins[id(link.target)].append(link)
    for group in outs.values():
        group.sort(key=lambda link: (not link.routed, link.target.x))
    for group in ins.values():
        group.sort(key=lambda link: (not link.routed, link.source.x))
    rows = _row_spans(blocks)
    arrows = []
    for link in links:
        sx = _port(link.source, outs[id(link.source)].index(link), len(outs[id(link.source)]))
        tx = _port(link.target, ins[id(link.target)].index(link), len(ins[id(link.target)]))
        top, foot = link.target.y, link.source.y + link.source.h
        if not link.routed:
            middle = (foot + top) / 2
            path = f"M{sx:g},{foot:g} C{sx:g},{middle:g} {tx:g},{middle:g} {tx:g},{top - 1:g}"
        else:
            lane_x = MARGIN + LANE * lanes.index((id(link.target), link.needed)) + LANE / 2
            below = rows[(link.source.layer, link.source.row)][1] + ROW_GAP / 2
            gap_above = LAYER_GAP if link.target.row == 0 else ROW_GAP
            above = rows[(link.target.layer, link.target.row)][0] - gap_above / 2
            path = f"M{sx:g},{foot:g} V{below:g} H{lane_x:g} V{above:g} H{tx:g} V{top - 1:g}"
        arrows.append(Arrow(link.source.codes, link.target.codes, link.needed, path))
    return arrows


def _port(block: _Block, index: int, count: int) -> float:
    """Where the index-th of `count` arrows leaves or enters a block (spread over its middle)."""
    span = min(block.w * 0.6, 24.0 * count)
    start = block.x + (block.w - span) / 2
    return round(start + span * (index + 1) / (count + 1), 1)


def _row_spans(blocks: list[_Block]) -> dict[tuple[int, int], tuple[float, float]]:
    """Top and bottom of each row of each layer."""
    spans: dict[tuple[int, int], tuple[float, float]] = {}
    for block in blocks:
        key = (block.layer, block.row)
        top, bottom = spans.get(key, (block.y, block.y + block.h))
        spans[key] = (min(top, block.y), max(bottom, block.y + block.h))
    return spans

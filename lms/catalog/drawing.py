"""The pathway picture as SVG: built once per catalogue and width, coloured per person.

`pathway_for(items)` lays the catalogue out twice (narrow, for phones, and wide) and keeps
the drawings while the catalogue is unchanged; `Pathway.svg(marks)` fills in one person's
states: only each node's class, icon and words change, so a page pays a string join. No
inline style and no script (the strict Content-Security-Policy): states are classes that
templates/static/pathway.css colours, and each state also has its own icon and words, so
colour is never the only sign. Every node is a link to the item's details on the page, with
a <title> (its tooltip and accessible name) saying its state and, when locked, why.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from lms.catalog.pathway_layout import (
    CHIP_PAD_X,
    CHIP_PAD_Y,
    FONT_SIZE,
    ICON,
    ICON_GAP,
    LINE_HEIGHT,
    Layout,
    lay_out,
)
from lms.i18n import translate

# Each drawing is laid out in user units (labels FONT_SIZE units high) and drawn larger, so
# that its text reads at up to TEXT_PX; a screen narrower than the drawing shrinks it. The
# narrow one, wide enough for three module chips a row (a phone's dashboard stays about
# three screens long), has 12.7 px text in the 328 px a 375 px phone leaves it and 12 px at
# 360 px; the wide one shows from 48rem, where it has 686 px (12.4 px text), and is 886 px
# wide on a laptop (16 px text).
NARROW = 336
WIDE = 720
TEXT_PX = {"narrow": 14, "wide": 16}

# State -> (words for people, icon). "neutral" is the programme page seen by staff: no state.
STATES: dict[str, str] = {
    "done": "Done",
    "credited": "Credited (equivalent approved)",
    "open": "Open",
    "locked": "Locked",
    "neutral": "",
}


@dataclass(frozen=True)
class Mark:
    """One item as one person stands with it: a state of STATES and a note (why it is locked,
    when it was done)."""

    state: str = "neutral"
    note: str = ""


PATHWAY_MARKS: list[Callable[[Session, object], Mapping[str, Mark] | None]] = []
"""Callables other features append to (from their `subscribe()`): `fn(session, user)` gives
the signed-in person's mark for each item of the programme page's picture, or None when it
has none to give (the first answer counts; without one the picture is drawn neutral). Each
runs a constant number of queries and never writes."""


NEUTRAL = Mark()

# Icons drawn in currentColor on a 14 x 14 grid, one per state (inline in each node: the
# stylesheet does not reach into <use> copies).
_ICONS = {
    "done": '<circle cx="7" cy="7" r="6.2" class="icon-disc"/>'
    '<path d="M3.8 7.3 6.1 9.6 10.4 4.8" class="icon-line"/>',
    "credited": '<circle cx="7" cy="7" r="6.2" class="icon-ring"/>'
    '<path d="M4 5.6h6M4 8.6h6" class="icon-line"/>',
    "open": '<circle cx="7" cy="7" r="6.2" class="icon-ring"/>'
    '<path d="M5.6 4.2 9.8 7 5.6 9.8Z" class="icon-fill"/>',
    "locked": '<rect x="3" y="6.3" width="8" height="6" rx="1.2" class="icon-fill"/>'
    '<path d="M4.9 6.3V4.9a2.1 2.1 0 0 1 4.2 0v1.4" class="icon-line"/>',
}


NAME_HERE = "\x00name\x00"  # the drawing's name, put in for each page in its locale


class Drawing:
    """One layout as SVG, its per-person parts left open."""

    def __init__(self, layout: Layout, titles: Mapping[str, str], prefix: str, variant: str):
        """Prebuild everything that does not depend on the person."""
        self.layout = layout
        self.prefix = prefix
        self.variant = variant
        self.titles = dict(titles)
        w, h = layout.width, layout.height
        scale = TEXT_PX[variant] / FONT_SIZE
        defs = (
            f'<marker id="{prefix}arrow" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M0 0 10 5 0 10Z" class="arrowhead"/></marker>'
            f'<pattern id="{prefix}hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-ground"/>'
            '<path d="M0 0V6" class="hatch-line"/></pattern>'
        )
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="pathway-svg {variant}" '
            f'viewBox="0 0 {w:g} {h:g}" width="{round(w * scale, 1):g}" '
            f'height="{round(h * scale, 1):g}" role="group" '
            f'aria-labelledby="{prefix}name" aria-describedby="pathway-about">'
            f'<title id="{prefix}name">{NAME_HERE}</title><defs>{defs}</defs>'
        )
        boxes = "".join(
            f'<rect class="box" x="{b.x:g}" y="{b.y:g}" width="{b.w:g}" height="{b.h:g}" rx="9"/>'
            for b in layout.boxes
        )
        arrows = "".join(
            f'<path class="arrow {"needed" if a.needed else "one-way"}" d="{a.path}" '
            f'marker-end="url(#{prefix}arrow)"/>'
            for a in layout.arrows
        )
        self._head = head + f'<g class="arrows">{arrows}</g>{boxes}'
        self._neutral = {
            node.code: ("neutral", str(escape(self.titles.get(node.code, node.code))))
            for node in layout.nodes
        }
        # Per node and state, everything but the words of its title (the person's).
        self._nodes: list[tuple[str, dict[str, str], str]] = []
        for node in layout.nodes:
            chip, icon_at, label = self._node_parts(node)
            opening = {
                state: f'<a href="#item-{escape(node.code)}" class="node is-{state}"><title>'
                for state in STATES
            }
            closing = {
                state: f"</title>{chip}"
                + (f'<g class="icon" {icon_at}>{_ICONS[state]}</g>' if state in _ICONS else "")
                + label
                for state in STATES
            }
            self._nodes.append((node.code, opening, closing))

    def _node_parts(self, node: Any) -> tuple[str, str, str]:
        """A node's chip, its icon's place and its label (the state and words are the person's)."""
        chip = (
            f'<rect class="chip" x="{node.x:g}" y="{node.y:g}" width="{node.w:g}" '
            f'height="{node.h:g}" rx="6"/>'
        )
        top = node.y + (node.h - ICON) / 2
        scale = ICON / 14
        icon_at = f'transform="translate({node.x + CHIP_PAD_X:g} {top:g}) scale({scale:g})"'
        text_x = node.x + CHIP_PAD_X + ICON + ICON_GAP
        baseline = node.y + CHIP_PAD_Y + FONT_SIZE * 0.95
        lines = "".join(
            f'<text x="{text_x:g}" y="{baseline + LINE_HEIGHT * i:g}">{escape(line)}</text>'
            for i, line in enumerate(node.lines)
        )
        return chip, icon_at, f"{lines}</a>"

    def svg(self, said: Mapping[str, tuple[str, str]]) -> str:
        """The SVG with each node in its person's state: `said` maps a code to its state and
        the escaped words of its title (nodes missing from it are neutral)."""
        neutral = self._neutral
        nodes = []
        for code, opening, closing in self._nodes:
            state, words = said.get(code) or neutral[code]
            nodes.append(f"{opening[state]}{words}{closing[state]}")
        name = escape(translate("The programme as a picture"))  # in the locale of the page
        return f"{self._head.replace(NAME_HERE, name)}{''.join(nodes)}</svg>"


@dataclass(frozen=True)
class Pathway:
    """The narrow and the wide drawing of one catalogue."""

    narrow: Drawing
    wide: Drawing

    @property
    def layers(self) -> tuple[tuple[str, ...], ...]:
        """The codes of each layer, top first (the same in both drawings)."""
        return self.wide.layout.layers

    def svg(self, marks: Mapping[str, Mark]) -> Markup:
        """Both drawings (the stylesheet shows one, by the width of the screen), each node a
        link to `#item-<code>` on the page (about 40 microseconds)."""
        said = {}
        for code, mark in marks.items():
            state = mark.state if mark.state in STATES else "neutral"
            words = STATES[state]
            title = self.wide.titles.get(code, code)
            text = f"{title}: {words}" if words else title
            said[code] = (state, str(escape(text + f". {mark.note}" if mark.note else text)))
        # Every value from the catalogue or the person went through escape().
        return Markup(self.narrow.svg(said) + self.wide.svg(said))  # noqa: S704


def pathway_for(items: Sequence[Any]) -> Pathway:
    """The pathway of these items (active ones, in programme order), kept while unchanged."""
    return _pathway(_signature(items))


def _signature(items: Sequence[Any]) -> tuple[tuple[Any, ...], ...]:
    """What the picture depends on, hashable: the cache key."""
    return tuple(
        (
            item.code,
            item.title,
            item.short_title or "",
            json.dumps(item.prerequisite, sort_keys=True, default=str),
        )
        for item in items
    )


@dataclass(frozen=True)
class _Item:
    """An item as the layout reads it (rebuilt from the signature)."""

    code: str
    title: str
    short_title: str
    prerequisite: Any


@functools.lru_cache(maxsize=8)
def _pathway(signature: tuple[tuple[Any, ...], ...]) -> Pathway:
    """Lay out and prebuild both drawings (a few milliseconds; once per catalogue version)."""
    items = [_Item(code, title, short, json.loads(rule)) for code, title, short, rule in signature]
    titles = {item.code: item.title for item in items}
    return Pathway(
        narrow=Drawing(lay_out(items, NARROW), titles, "pwn-", "narrow"),
        wide=Drawing(lay_out(items, WIDE), titles, "pww-", "wide"),
    )

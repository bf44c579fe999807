"""What a locked item misses, as pages show it: one sentence, or a lead-in with its
alternatives as a list (nested where an alternative has parts of its own).

One function, a template global (`why`), so every page that explains a lock (dashboard rows
and cards, the note a shared lock gets, the retreats pages, a refused application) says it
the same way; built in Python, as pages call it for every locked item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from lms.catalog.api import in_locale


def _text(outline: Any) -> str:
    """An outline's line (an Outline, or its JSON form as the standings keep it)."""
    text = outline.get("text", "") if isinstance(outline, Mapping) else outline.text
    return in_locale(text)


def _parts(outline: Any) -> Any:
    """An outline's parts, in either form."""
    return outline.get("parts") or () if isinstance(outline, Mapping) else outline.parts


def _items(outline: Any) -> str:
    """The parts of an outline as a list, each with its own parts below it."""
    lines = []
    for part in _parts(outline):
        nested = _items(part) if _parts(part) else ""
        lines.append(f"<li>{escape(_text(part))}{nested}</li>")
    return f"<ul>{''.join(lines)}</ul>"


def why(explanation: str, outline: Any = None, id: str = "", lead: str = "") -> Markup:  # noqa: A002
    """`<div class="why">`: the lead-in (bold) and the outline's list, or the sentence."""
    opening = f'<div class="why" id="{escape(id)}">' if id else '<div class="why">'
    said = f"<strong>{escape(lead)}</strong> " if lead else ""
    if outline is not None and _parts(outline):
        body = f"<p>{said}{escape(_text(outline))}</p>{_items(outline)}"
    else:
        body = f"<p>{said}{escape(in_locale(explanation))}</p>"
    # Every word from the catalogue or the standings went through escape().
    return Markup(f"{opening}{body}</div>")  # noqa: S704

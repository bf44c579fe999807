"""Sections other features add to the account page (the directory listing, say), so the
account page shows them without importing the features above it.

Each is called once per view as `fn(session, user)` with the signed-in person, must run a
constant number of queries and never write, and returns None (nothing to show) or
`(template_name, context)`: the template is included with `section.context` at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

AccountSection = Callable[[Session, Any], tuple[str, dict[str, Any]] | None]
ACCOUNT_SECTIONS: list[AccountSection] = []


@dataclass(frozen=True)
class RenderedAccountSection:
    """A section of the account page contributed by another feature."""

    template: str
    context: dict[str, Any]


def register_account_section(section: AccountSection) -> None:
    """Add a section (once; registering it again changes nothing)."""
    if section not in ACCOUNT_SECTIONS:
        ACCOUNT_SECTIONS.append(section)


def account_sections(session: Session, user: Any) -> list[RenderedAccountSection]:
    """The sections to show the person, in the order they were registered."""
    found = []
    for contribute in ACCOUNT_SECTIONS:
        result = contribute(session, user)
        if result is not None:
            found.append(RenderedAccountSection(result[0], dict(result[1])))
    return found

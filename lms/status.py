"""The one shape of every status people see: a stored value, its wording and its badge.

Each status enum (an item's state, a retreat standing, an application, a credit request, a
certificate, an outbox message) declares its members as `NAME = "value", "Label", "badge"`,
so the words and colour of a state live beside the state itself, in one place, and every
page, e-mail and export reads them from there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

BADGES = frozenset({"ok", "info", "warn", "bad", ""})  # the badge classes app.css styles


class Status(StrEnum):
    """A status: compares and stores as its value; `label` and `badge` say how it is shown."""

    label: str
    badge: str

    def __new__(cls, value: str, label: str, badge: str = "") -> Self:
        """A member from its value, its human wording and its CSS badge class."""
        if badge not in BADGES:
            raise ValueError(f"{cls.__name__}.{value}: unknown badge class {badge!r}")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.badge = badge
        return member

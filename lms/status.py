"""The one shape of every status people see: a stored value, its wording and its badge.

Each status enum (an item's state, a retreat standing, an application, a credit request, a
certificate, an outbox message) declares its members as `NAME = "value", "Label", "badge"`,
so the words and colour of a state live beside the state itself, in one place, and every
page, e-mail and export reads them from there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from lms.i18n import translate

BADGES = frozenset({"ok", "info", "warn", "bad", ""})  # the badge classes app.css styles


class Status(StrEnum):
    """A status: compares and stores as its value; `label` and `badge` say how it is shown."""

    source_label: str  # the wording as written (British; lms/i18n.py)
    badge: str

    def __new__(cls, value: str, label: str, badge: str = "") -> Self:
        """A member from its value, its human wording and its CSS badge class."""
        if badge not in BADGES:
            raise ValueError(f"{cls.__name__}.{value}: unknown badge class {badge!r}")
        member = str.__new__(cls, value)
        member._value_ = value
        member.source_label = label
        member.badge = badge
        return member

    @property
    def label(self) -> str:
        """The wording in the programme locale's spelling ("Cancelled" -> "Canceled")."""
        return translate(self.source_label)


def worded_as(status: Status) -> tuple[str, str, str]:
    """A member declared as another enum's member of the same state: its value, its words and
    its badge (`NAME = worded_as(OtherStatus.NAME)`), so one state is said one way."""
    return status.value, status.source_label, status.badge


def _every_status(cls: type) -> list[type]:
    """Every status enum declared so far (subclasses at any depth)."""
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_every_status(sub))
    return found


_WORDS: dict[int, dict[str, str]] = {}  # how many enums were known -> value -> its one word


def word_for(value: str) -> str:
    """The word people read for a stored status value ("medical_review" -> "In medical
    review"), when every status storing that value says it one way; otherwise the value as
    it is (an audit record's facts hold stored values; a person reads words)."""
    enums = _every_status(Status)
    words = _WORDS.get(len(enums))
    if words is None:
        said: dict[str, set[str]] = {}
        for enum in enums:
            for member in enum:
                said.setdefault(member.value, set()).add(member.source_label)
        words = {value: next(iter(labels)) for value, labels in said.items() if len(labels) == 1}
        _WORDS.clear()
        _WORDS[len(enums)] = words
    return translate(words[value]) if value in words else value

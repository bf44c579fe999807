"""Facts that other features hold about people, read into the standings through sources they
register here.

Progress sits below the features whose records are facts too: credit for outside training
(equivalency) and applications with their screening (retreats, over the offerings' enrolment
table). It imports none of them. Each registers a `FactSource` from its own
`standing_facts.py` (named in `lms.features.FACT_SOURCE_MODULES`): how to read its facts for
many people at once into their `History`, how its state of an item reads on the item's card,
and what a person is waiting on. (A change to those facts is announced by the feature's
domain events, lms.signals, which lms.progress.tracking subscribes to.) `sources()` imports
the registered modules on first use, so the standings never run with a source missing, in
an app, a command or a migration alike.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lms import features
from lms.status import Status


@dataclass
class History:
    """One person's facts as rows: live completions, credits, applications."""

    # item -> (id, on, the completion's own CE hours: None means the item's)
    completions: dict[int, tuple[int, date, Decimal | None]] = field(default_factory=dict)
    approved: set[int] = field(default_factory=set)  # items credited for outside training
    pending: dict[int, str] = field(default_factory=dict)  # item -> outside programme asked
    applied: set[int] = field(default_factory=set)  # items with a live application
    application_status: dict[int, str] = field(default_factory=dict)  # item -> the one shown
    screening_cleared: bool = False
    last_activity_at: datetime | None = None


class Histories:
    """Histories being read for many people, and the latest moment each was active."""

    def __init__(self) -> None:
        """No one read yet."""
        self.found: dict[int, History] = defaultdict(History)
        self.latest: dict[int, datetime] = {}

    def of(self, user_id: int) -> History:
        """The person's history (made on first use)."""
        return self.found[user_id]

    def saw(self, user_id: int, at: datetime | None) -> None:
        """Keep the person's latest moment so far (their last activity)."""
        if at is not None and (user_id not in self.latest or at > self.latest[user_id]):
            self.latest[user_id] = at


@dataclass(frozen=True)
class Awaiting:
    """Something a person asked for that awaits a decision (it unlocks nothing yet)."""

    code: str
    title: str
    outside_programme: str
    created_at: datetime


# item state, whether the rule is met, the application status shown -> what the card says
PlaceReader = Callable[[Any, bool, str | None], Status | None]


@dataclass(frozen=True)
class FactSource:
    """One feature's facts about people, as the standings read them."""

    name: str
    # Read the facts of these people (in a constant number of queries) into their histories.
    load: Callable[[Session, Sequence[int], Histories], None]
    # Item kind -> how the person's place with an item of that kind reads on its card
    # (a retreat's "Accepted", a module's "Enrolled"); kinds not named have none.
    places: Mapping[Any, PlaceReader] = field(default_factory=dict)
    # What the person asked for that awaits a decision (the dashboard lists it).
    awaiting: Callable[[Session, int], list[Awaiting]] | None = None


_SOURCES: dict[str, FactSource] = {}


def register(source: FactSource) -> None:
    """Declare a feature's source (again under the same name replaces it)."""
    _SOURCES[source.name] = source
    place_reader.cache_clear()


def sources() -> tuple[FactSource, ...]:
    """Every registered source, the feature modules that declare them imported first."""
    features.load_fact_sources()
    return tuple(_SOURCES.values())


# Asked for every item on a page: worked out once, again only when a source is registered.
@functools.cache
def place_reader(kind: Any) -> PlaceReader | None:
    """How a person's place with an item of this kind reads, if a source says."""
    for source in sources():
        reader = source.places.get(kind)
        if reader is not None:
            return reader
    return None


def awaited(session: Session, user_id: int) -> list[Awaiting]:
    """Everything the person asked for that awaits a decision, from every source."""
    return [
        found
        for source in sources()
        if source.awaiting is not None
        for found in source.awaiting(session, user_id)
    ]

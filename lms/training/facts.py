"""Where the credential's leaves get their facts: providers registered by name.

The requirement (lms.training.requirement) judges counts it does not keep itself: the
consultation log, the session log and the documents each register a provider here under a
name below, and a provider that has not landed counts as nothing (zero sessions, no
document approved). Every provider answers for many people in a constant number of queries.

The protocol, one callable per name:

- CONSULTATIONS: `(session, user_ids) -> {user_id: {kind: (count, hours, first_on)}}` — the
  consultations that count, per kind ("group_consultation", "individual_consultation"): the
  confirmed ones with a consultant approved on the day plus approved credit from another
  programme, and the date of the first confirmed one (credit from elsewhere opens no window).
- CONSULTATION_CREDIT: `(session, user_ids) -> {user_id: {kind: (count, hours)}}` — the part
  of those counts that is approved credit from another programme (to say so, not to count
  it twice).
- SESSION_COUNTS: `(session, user_ids) -> {user_id: (sessions_as_therapist,
  distinct_clients, first_month)}` — the session log's counts; `first_month` is the first
  day of the month of the earliest counted session (the log keeps no day), or None.
- APPROVED_DOCUMENTS: `(session, user_ids) -> {user_id: set[kind]}` — the document kinds
  ("reflection_paper", "recommendation_letter") with an approved version.

A module registering a provider is named in PROVIDER_MODULES, so it is imported before the
facts are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from importlib import import_module
from typing import Any

from sqlalchemy.orm import Session

from lms.catalog.api import TrainingFacts

CONSULTATIONS = "consultations"
CONSULTATION_CREDIT = "consultation_credit"
SESSION_COUNTS = "session_counts"
APPROVED_DOCUMENTS = "approved_documents"
NAMES = frozenset({CONSULTATIONS, CONSULTATION_CREDIT, SESSION_COUNTS, APPROVED_DOCUMENTS})

# Modules that call `provide` when imported.
PROVIDER_MODULES: tuple[str, ...] = (
    "lms.training.consultation_credit",
    "lms.training.session_log",
    "lms.training.documents",
)

Provider = Callable[[Session, Sequence[int]], dict[int, Any]]
_PROVIDERS: dict[str, Provider] = {}


def provide(name: str, provider: Provider) -> None:
    """Register the provider of one kind of fact (again under the same name replaces it)."""
    if name not in NAMES:
        raise ValueError(f"unknown training fact {name!r}; expected one of {sorted(NAMES)}")
    _PROVIDERS[name] = provider


def _provider(name: str) -> Provider | None:
    """The registered provider, its module imported first; None until one lands."""
    for module in PROVIDER_MODULES:
        import_module(module)
    return _PROVIDERS.get(name)


def _read(name: str, session: Session, ids: Sequence[int]) -> dict[int, Any]:
    """One provider's answer, or nothing for everyone when none is registered."""
    provider = _provider(name)
    return provider(session, ids) if provider is not None else {}


def training_facts(session: Session, ids: Sequence[int], on: date) -> dict[int, TrainingFacts]:
    """The credential facts of each person, judged on the programme's day `on`."""
    consultations = _read(CONSULTATIONS, session, ids)
    credit = _read(CONSULTATION_CREDIT, session, ids)
    sessions = _read(SESSION_COUNTS, session, ids)
    documents = _read(APPROVED_DOCUMENTS, session, ids)
    found = {}
    for user_id in ids:
        logged: list[tuple[str, int, Decimal]] = []
        firsts: list[date] = []
        for kind, (count, hours, first_on) in sorted(consultations.get(user_id, {}).items()):
            logged.append((kind, count, hours))
            if first_on is not None:
                firsts.append(first_on)
        therapist, clients, first_month = sessions.get(user_id, (0, 0, None))
        logged.append(("therapist_session", therapist, Decimal(0)))
        if first_month is not None:
            firsts.append(first_month)
        credited = tuple(
            (kind, count, hours) for kind, (count, hours) in sorted(credit.get(user_id, {}).items())
        )
        found[user_id] = TrainingFacts(
            logged=tuple(logged),
            credited=credited,
            distinct_clients=clients,
            documents=frozenset(documents.get(user_id, ())),
            first_event_on=min(firsts, default=None),
            on=on,
        )
    return found

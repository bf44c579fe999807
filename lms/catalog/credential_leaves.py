"""The leaves a programme credential's rule adds to the rule tree (lms.catalog.rules): logged
entries that count, different clients, approved documents and the time window. Each judges
the person's TrainingFacts and answers None when met, else the missing step in the house's
words ("7 of 12 group consultations confirmed (14 of 24 hours)"). Pure, like the rules."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lms.dates import day
from lms.i18n import translate
from lms.status import Status


class ConsultationKind(Status):
    """Group or individual: the two kinds of consultation the credential counts apart (logged
    here and confirmed, or credited from another programme)."""

    GROUP = "group_consultation", "Group consultation", ""
    INDIVIDUAL = "individual_consultation", "Individual consultation", ""


# What a `logged` leaf may count: kind -> (one, many, the word for a counted entry). Only
# confirmed consultations count; sessions count once logged (nobody confirms them).
LOGGED_KINDS: dict[str, tuple[str, str, str]] = {
    "group_consultation": ("group consultation", "group consultations", "confirmed"),
    "individual_consultation": ("individual consultation", "individual consultations", "confirmed"),
    "therapist_session": ("KAP session as therapist", "KAP sessions as therapist", "logged"),
}
# What a `document_approved` leaf may name: kind -> its name in sentences.
DOCUMENT_KINDS: dict[str, str] = {
    "reflection_paper": "reflection paper",
    "recommendation_letter": "consultant's letter of recommendation",
}


@dataclass(frozen=True)
class TrainingFacts:
    """What a programme credential's leaves read: counted log entries, clients, documents and
    the window. `logged` holds (kind, count, hours) of the entries that count; `on` is the
    programme's day the window is judged on, `first_event_on` the first counted event's.
    `credited` holds the part of `logged` that is approved credit from another programme
    (already counted in `logged`; kept apart only to say so)."""

    logged: tuple[tuple[str, int, Decimal], ...] = ()
    credited: tuple[tuple[str, int, Decimal], ...] = ()
    distinct_clients: int = 0
    documents: frozenset[str] = frozenset()
    first_event_on: date | None = None
    on: date | None = None

    def count_and_hours(self, kind: str) -> tuple[int, Decimal]:
        """The entries of a kind that count, and their hours."""
        for found, count, hours in self.logged:
            if found == kind:
                return count, hours
        return 0, Decimal(0)

    def credited_count(self, kind: str) -> int:
        """How many of the kind's counted entries are credit from another programme."""
        return sum(count for found, count, _ in self.credited if found == kind)


def _number(value: Any) -> Decimal:
    """A rule's number as a Decimal (floats through str so 7.5 stays 7.5)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _hours(value: Decimal) -> str:
    """Hours without needless trailing zeros: 24, 1.5."""
    return format(value.normalize(), "f")


def _logged(spec: Mapping[str, Any], training: TrainingFacts) -> str | None:
    """Enough counted entries of a kind (count, hours, or both)."""
    count, hours = training.count_and_hours(spec["kind"])
    needed_count = spec.get("count")
    needed_hours = _number(spec["hours"]) if spec.get("hours") is not None else None
    if (needed_count is None or count >= needed_count) and (
        needed_hours is None or hours >= needed_hours
    ):
        return None
    return logged_progress(spec, training)


def logged_progress(spec: Mapping[str, Any], training: TrainingFacts) -> str:
    """Where a person stands on a `logged` leaf, met or not, in the house's words."""
    one, many, verb = LOGGED_KINDS[spec["kind"]]
    count, hours = training.count_and_hours(spec["kind"])
    needed_count = spec.get("count")
    credited = training.credited_count(spec["kind"])
    # Approved credit from another programme counts like a confirmed entry; the words say so.
    besides = f", {credited} of them credited from elsewhere" if credited else ""
    if spec.get("hours") is None:
        return f"{count} of {needed_count} {many if needed_count != 1 else one} {verb}{besides}"
    of_hours = f"{_hours(hours)} of {_hours(_number(spec['hours']))} hours"
    if needed_count is None:
        return f"{of_hours} of {many} {verb}{besides}"
    return (
        f"{count} of {needed_count} {many if needed_count != 1 else one} {verb} "
        f"({of_hours}){besides}"
    )


def _distinct_clients(needed: int, training: TrainingFacts) -> str | None:
    """Sessions with enough different clients (counted, never named)."""
    if training.distinct_clients >= needed:
        return None
    return f"{training.distinct_clients} of {needed} different clients in your session log"


def _document_approved(kind: str, training: TrainingFacts) -> str | None:
    """A document of the kind reviewed and approved."""
    return None if kind in training.documents else f"Have your {DOCUMENT_KINDS[kind]} approved"


def window_closes_on(months: int, training: TrainingFacts) -> date | None:
    """The last day of the window that opened with the first counted event (None: not open)."""
    first = training.first_event_on
    if first is None:
        return None
    index = first.month - 1 + months
    year, month = first.year + index // 12, index % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def _within_months(months: int, training: TrainingFacts) -> str | None:
    """Everything done within the window: met until the window's last day has passed."""
    closes = window_closes_on(months, training)
    if closes is None or training.on is None or training.on <= closes:
        return None
    return translate(
        "Finish within {months} months of your first counted event "
        "(the window closed on {closes}; ask the programme team)"
    ).format(months=months, closes=day(closes))


# leaf key -> judge(value, facts): None when met, else the missing step.
CREDENTIAL_LEAVES: dict[str, Callable[[Any, TrainingFacts], str | None]] = {
    "logged": _logged,
    "distinct_clients_at_least": _distinct_clients,
    "document_approved": _document_approved,
    "within_months": _within_months,
}


def credential_words(key: str, value: Any) -> str:
    """A credential leaf in words for requirement lists: "12 group consultations confirmed
    (24 hours)"."""
    if key == "logged":
        one, many, verb = LOGGED_KINDS[value["kind"]]
        count, hours = value.get("count"), value.get("hours")
        counted = f"{count} {many if count != 1 else one} {verb}" if count is not None else ""
        if hours is None:
            return counted
        of_hours = f"{_hours(_number(hours))} hours"
        return f"{counted} ({of_hours})" if counted else f"{of_hours} of {many} {verb}"
    if key == "distinct_clients_at_least":
        return f"sessions with at least {value} different clients"
    if key == "document_approved":
        return f"an approved {DOCUMENT_KINDS[value]}"
    return f"all within {value} months of the first counted event"

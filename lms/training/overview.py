"""What the clinician sees of their Certificate of Training: each part of the requirement with
its state, what is missing and a picture (a bar, SVG drawn with the stylesheet's classes so
the strict CSP holds, named by a sentence for screen readers), the window's end with a
warning from WARNING_DAYS before it, and the dashboard's card read from the kept standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.clock import today
from lms.db import read
from lms.training.models import Credential, TrainingStanding
from lms.training.queues import WARNING_DAYS
from lms.training.requirement import (
    CERTIFICATE_OF_TRAINING,
    RequirementLine,
    Requirements,
    requirements_of,
)
from lms.training.standing import sync

BAR_WIDTH = 240
BAR_HEIGHT = 14


def meter(line: RequirementLine) -> Markup:
    """A bar showing how far along one part is; its name says the same in words."""
    filled = round(BAR_WIDTH * line.share, 1)
    state = "met" if line.met else "open"
    words = f"{line.asks}: {line.done} of {line.of}" + (", met" if line.met else ", not yet met")
    return Markup(  # noqa: S704 - the only words from data went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" class="meter {state}" '
        f'viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'role="img" aria-label="{escape(words)}">'
        f'<rect class="meter-track" x="0" y="0" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" rx="7"/>'
        f'<rect class="meter-fill" x="0" y="0" width="{filled:g}" height="{BAR_HEIGHT}" rx="7"/>'
        "</svg>"
    )


@dataclass(frozen=True)
class Window:
    """The requirement's time window as the clinician reads it."""

    closes_on: date | None
    days_left: int | None

    @property
    def closed(self) -> bool:
        """The last day has passed."""
        return self.days_left is not None and self.days_left < 0

    @property
    def warning(self) -> bool:
        """Within WARNING_DAYS of the end (and not closed)."""
        return self.days_left is not None and 0 <= self.days_left <= WARNING_DAYS


def window_of(closes_on: date | None, on: date) -> Window:
    """The window seen from the day."""
    return Window(closes_on, (closes_on - on).days if closes_on is not None else None)


@dataclass(frozen=True)
class Overview:
    """The clinician's Certificate of Training page."""

    requirements: Requirements
    pictures: tuple[Markup, ...]
    window: Window


def overview_of(session: Session, user: Any) -> Overview:
    """The page's content: the requirement judged today (a constant number of queries)."""
    requirements = requirements_of(session, user)
    return Overview(
        requirements,
        tuple(meter(line) for line in requirements.lines),
        window_of(requirements.window_closes_on, requirements.on or today(session)),
    )


# The candidate's kept row with the credential's title: one query per dashboard view.
_CARD = (
    select(
        Credential.title,
        TrainingStanding.met,
        TrainingStanding.parts_met,
        TrainingStanding.parts_total,
        TrainingStanding.window_closes_on,
        TrainingStanding.lapses_on,
        Credential.standings_due_at,
    )
    .join(Credential, Credential.id == TrainingStanding.credential_id)
    .where(
        Credential.code == CERTIFICATE_OF_TRAINING,
        TrainingStanding.user_id == bindparam("user_id"),
    )
)


def dashboard_card(session: Session, user: Any) -> tuple[str, dict[str, Any]] | None:
    """The dashboard's card for a candidate (nothing for anyone else): read from their kept
    standing (synced first), one query."""
    sync(session)
    found = read(session, _CARD, {"user_id": user.id}).first()
    if found is None:
        return None
    title, met, parts_met, parts_total, closes_on, lapses_on, due_at = found
    day = today(session)
    window = window_of(closes_on, day)
    return "training/_dashboard_card.html", {
        "training_card": {
            "title": title,
            "met": bool(met) and not window.closed and (lapses_on is None or lapses_on > day),
            "parts_met": parts_met,
            "parts_total": parts_total,
            "window": window,
            "recomputing": due_at is not None,
        }
    }

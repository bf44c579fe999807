"""Helpers shared by the retreat and equivalency tests: sessions, screenings, eligibility."""

from __future__ import annotations

from datetime import date, timedelta

from clock_support import programme_today
from facts_support import facts_changed
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import signals
from lms.catalog.models import CatalogItem
from lms.equivalency.models import EquivalencyRequest
from lms.equivalency.services import decide_request
from lms.offerings.days import every_day, new_offering
from lms.offerings.models import Offering, OfferingStatus
from lms.progress.models import Completion, CompletionSource
from lms.retreats.screening import CONTRAINDICATIONS, ScreeningAnswer, ScreeningInput

# The password tests/conftest.py gives every make_user() account (signing in through forms).
PASSWORD = "correct horse battery staple"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def screening(
    yes: tuple[str, ...] = (), detail: str = "", anything_else: str = ""
) -> ScreeningInput:
    """A complete screening: "yes" for the given codes, "no" for the rest."""
    return ScreeningInput(
        answers=tuple(
            ScreeningAnswer(code=code, yes=code in yes, detail=detail if code in yes else "")
            for code, _label in CONTRAINDICATIONS
        ),
        anything_else=anything_else,
    )


def screening_form(yes: tuple[str, ...] = (), detail: str = "", anything_else: str = "") -> dict:
    """The application form's fields for the same screening, as a browser posts them."""
    data = {"anything_else": anything_else}
    for code, _label in CONTRAINDICATIONS:
        data[f"{code}-answer"] = "yes" if code in yes else "no"
        data[f"{code}-detail"] = detail if code in yes else ""
    return data


def add_session(
    session: Session,
    code: str = "RETREAT-L1",
    *,
    starts_in: int = 60,
    days: int = 5,
    capacity: int = 16,
    deadline_in: int | None = None,
    location: str = "Test Retreat Centre",
    active: bool = True,
) -> Offering:
    """A session of a retreat starting `starts_in` days from today (negative: in the past)."""
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
    start = programme_today() + timedelta(days=starts_in)
    retreat_session = new_offering(
        item.id,
        every_day(start, start + timedelta(days=days - 1)),
        location=location,
        capacity=capacity,
        enrolment_deadline=(
            programme_today() + timedelta(days=deadline_in) if deadline_in is not None else None
        ),
        status=OfferingStatus.SCHEDULED if active else OfferingStatus.CANCELLED,
    )
    session.add(retreat_session)
    session.commit()
    return retreat_session


def complete(session: Session, user_id: int, *codes: str, on: date | None = None) -> None:
    """Record completions directly (test setup, not the behaviour under test)."""
    items = {i.code: i for i in session.scalars(select(CatalogItem))}
    for code in codes:
        session.add(
            Completion(
                user_id=user_id,
                item_id=items[code].id,
                completed_on=on or programme_today() - timedelta(days=30),
                source=CompletionSource.INSTRUCTOR,
            )
        )
    facts_changed(session, user_id)
    session.commit()


def approve_credit(session: Session, user_id: int, code: str, reviewer_id: int) -> None:
    """Credit for equivalent training elsewhere, asked for and approved (the decision through
    the equivalency service, which unlocks at once)."""
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
    request = EquivalencyRequest(user_id=user_id, item_id=item.id, outside_programme="KRIYA")
    session.add(request)
    session.flush()
    signals.equivalency_requested.send(request, session=session)
    decide_request(session, request.id, reviewer_id=reviewer_id, approve=True, reason="")
    session.commit()

"""Helpers for the evaluation tests: a past offering, attending it, answering its form."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalog.models import CatalogItem, Offering, OfferingFacilitator, OfferingFormat
from lms.catalog.offerings import DaySpec, new_offering
from lms.db import db
from lms.progress.models import Completion, CompletionSource
from lms.progress.services import record_completion

# What the default catalogue's Module 2 evaluation asks: 3 objectives, 5 ratings, 2 texts.
M2_RATINGS = ("objective_1", "objective_2", "objective_3") + tuple(
    f"q_{q}" for q in ("relevance", "presenters", "apply", "bias", "overall")
)


def past_offering(
    session: Session,
    code: str = "M2",
    *,
    days_ago: int = 10,
    days: int = 1,
    facilitator_ids: tuple[int, ...] = (),
) -> Offering:
    """A live online offering of the item that ended `days_ago` days ago (committed)."""
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
    start = date.today() - timedelta(days=days_ago + days - 1)
    offering = new_offering(
        item.id,
        [DaySpec(start + timedelta(days=n), time(9), time(17), Decimal("8")) for n in range(days)],
        format=OfferingFormat.LIVE_ONLINE,
        capacity=40,
    )
    session.add(offering)
    session.flush()
    for user_id in facilitator_ids:
        session.add(OfferingFacilitator(offering_id=offering.id, user_id=user_id))
    session.commit()
    return offering


def attend(session: Session, user_id: int, offering: Offering) -> Completion:
    """Record the completion that closing the offering records for someone who attended it,
    and commit (the certificate, when not held, is rendered by the immediate queue)."""
    code = session.scalar(select(CatalogItem.code).where(CatalogItem.id == offering.item_id))
    completion = record_completion(
        session,
        user_id=user_id,
        item_code=code,
        completed_on=offering.ends_on,
        source=CompletionSource.ATTENDANCE,
        actor_id=None,
        offering_id=offering.id,
    )
    db.commit()
    return completion


def answers(rating: int = 4, **texts: str) -> dict[str, str]:
    """A complete set of answers to Module 2's evaluation, as a browser posts them."""
    data = {key: str(rating) for key in M2_RATINGS}
    data.update({f"q_{key}": value for key, value in texts.items()})
    return data

"""What an offering tells the certificates earned by attending it: every day it ran, where,
how it was delivered, and who facilitated (lms.certificates.activities)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.auth.api import User
from lms.certificates.api import ActivityFacts
from lms.offerings.models import Offering, OfferingFacilitator, OfferingFormat

ONLINE_LOCATION = "Live online (video)"


def offering_activities(session: Session, offering_ids: list[int]) -> dict[int, ActivityFacts]:
    """The facts of the offerings (three queries however many: offerings, days, facilitators)."""
    offerings = session.scalars(
        select(Offering).where(Offering.id.in_(offering_ids)).options(selectinload(Offering.days))
    ).all()
    names: dict[int, list[str]] = {}
    rows = session.execute(
        select(OfferingFacilitator.offering_id, User.name)
        .join(User, User.id == OfferingFacilitator.user_id)
        .where(OfferingFacilitator.offering_id.in_(offering_ids))
        .order_by(User.name)
    )
    for offering_id, name in rows:
        names.setdefault(offering_id, []).append(name)
    facts: dict[int, ActivityFacts] = {}
    for offering in offerings:
        days = tuple(day.held_on for day in offering.days) or (offering.starts_on,)
        location = offering.location or (
            ONLINE_LOCATION if offering.format == OfferingFormat.LIVE_ONLINE else ""
        )
        facts[offering.id] = ActivityFacts(
            days=days,
            location=location,
            format=offering.format.label,
            facilitators=tuple(names.get(offering.id, ())),
        )
    return facts


def subscribe() -> None:
    """Tell certificates about offerings (calling this again changes nothing)."""
    from lms.certificates.api import register_activity_finder

    register_activity_finder(offering_activities)

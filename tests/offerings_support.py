"""Helpers shared by the offering tests: a dated module offering starting in N days."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

from clock_support import programme_today
from sqlalchemy.orm import Session

from lms.offerings.days import DaySpec
from lms.offerings.models import Offering, OfferingFormat
from lms.offerings.schedule import OfferingInput, create_offering, update_offering


def add_offering(
    session: Session,
    admin_id: int,
    code: str = "M2",
    *,
    starts_in: int = 30,
    days: int = 2,
    capacity: int = 20,
    deadline_in: int | None = None,
    join_url: str = "https://video.example/j/123",
) -> Offering:
    """A live online offering of a module: `days` days from `starts_in` days ahead, 9-17."""
    start = programme_today() + timedelta(days=starts_in)
    offering = create_offering(
        session,
        item_code=code,
        data=OfferingInput(
            days=tuple(
                DaySpec(start + timedelta(days=n), time(9), time(17), Decimal("7"))
                for n in range(days)
            ),
            capacity=capacity,
            format=OfferingFormat.LIVE_ONLINE,
            join_url=join_url,
            enrolment_deadline=(
                programme_today() + timedelta(days=deadline_in) if deadline_in is not None else None
            ),
        ),
        actor_id=admin_id,
    )
    session.commit()
    return offering


def close_past_sessions(session: Session, actor_id: int) -> int:
    """Close every offering whose days are over (the default catalogue's 2024 retreat sessions,
    nobody in them), so that a test starts with nothing left to close; how many it closed."""
    from sqlalchemy import select

    from lms.auth.models import User
    from lms.offerings.closing import close_offering
    from lms.offerings.models import OfferingStatus

    actor = session.get(User, actor_id)
    ended = session.scalars(
        select(Offering.id).where(
            Offering.status == OfferingStatus.SCHEDULED, Offering.ends_on < programme_today()
        )
    ).all()
    for offering_id in ended:
        close_offering(session, offering_id, actor=actor)
    session.commit()
    return len(ended)


def cancel(session: Session, offering: Offering, admin_id: int) -> None:
    """Cancel the offering as staff do from its form (its other values as they are)."""
    session.refresh(offering)
    values = OfferingInput(
        days=tuple(DaySpec(d.held_on, d.starts_at, d.ends_at, d.ce_hours) for d in offering.days),
        capacity=offering.capacity,
        format=offering.format,
        location=offering.location,
        join_url=offering.join_url,
        enrolment_deadline=offering.enrolment_deadline,
        cancelled=True,
    )
    update_offering(session, offering.id, data=values, actor_id=admin_id)
    session.commit()

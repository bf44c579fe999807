"""Helpers shared by the attendance tests: a module offering already held, with people in it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.clock import today as programme_today
from lms.offerings.days import DaySpec
from lms.offerings.enrolment import enrol_user
from lms.offerings.models import Enrolment, Offering, OfferingFormat
from lms.offerings.schedule import OfferingInput, create_offering


def held_offering(
    session: Session,
    admin_id: int,
    code: str = "M1",
    *,
    days: int = 2,
    ended: int = 1,
    ce_hours: Sequence[Decimal | None] | None = None,
    facilitators: Iterable[int] = (),
    capacity: int = 80,
) -> Offering:
    """A live online offering of `days` days, 09:00-16:00 (420 minutes), whose last day was
    `ended` days ago in the programme's time zone (0: today); 4 CE hours a day unless given."""
    last = programme_today(session) - timedelta(days=ended)
    first = last - timedelta(days=days - 1)
    hours = list(ce_hours) if ce_hours is not None else [Decimal("4")] * days
    offering = create_offering(
        session,
        item_code=code,
        data=OfferingInput(
            days=tuple(
                DaySpec(first + timedelta(days=n), time(9), time(16), hours[n]) for n in range(days)
            ),
            capacity=capacity,
            format=OfferingFormat.LIVE_ONLINE,
            join_url="https://video.example/j/held",
            facilitator_ids=tuple(facilitators),
        ),
        actor_id=admin_id,
    )
    session.commit()
    return offering


def enrol(
    session: Session, offering: Offering, people: Iterable[User], actor_id: int
) -> list[Enrolment]:
    """Enrol the people as staff would have before the first day."""
    before = offering.starts_on - timedelta(days=1)
    made = [enrol_user(session, offering.id, p.id, actor_id=actor_id, today=before) for p in people]
    session.commit()
    return made


def report(*rows: tuple[str, str, int], on: date, header: str | None = None) -> str:
    """A Zoom participant report for one day: a meeting summary, then one row per join."""
    lines = [
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants",
        f"812 3456 7890,Module,{on:%m/%d/%Y} 08:55:00 AM,{on:%m/%d/%Y} 04:05:00 PM,"
        f"host@example.org,430,{len(rows)}",
        "",
        header or "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest",
    ]
    for name, email, minutes in rows:
        lines.append(
            f"{name},{email},{on:%m/%d/%Y} 09:00:00 AM,{on:%m/%d/%Y} 04:00:00 PM,{minutes},"
            f"{'No' if email else 'Yes'}"
        )
    return "\n".join(lines) + "\n"

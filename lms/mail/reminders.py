"""Reminders sent on a date, not on a change: an offering about to start.

The job queue's hourly `reminders` task calls `send_due`; each reminder is recorded on its
enrolment (`reminded_at`) in the same transaction as its outbox row, so however often the
task runs (or several consumers run it at once) a person is reminded once.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from lms import dates
from lms.db import utcnow
from lms.mail.services import queue_message
from lms.offerings.api import (
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingFormat,
)
from lms.urls import public_url

REMIND_DAYS = 3  # the reminder goes out this many days before the first day (or sooner)


def _day_line(day) -> str:  # noqa: ANN001 - an OfferingDay
    """'Sat 06 Feb 2027, 09:00-14:00 (programme time)'."""
    text = dates.day(day.held_on, weekday=True)
    if day.starts_at is not None:
        text += f", {day.starts_at:%H:%M}-{day.ends_at:%H:%M} (programme time)"
    return text


def send_due(session: Session, *, today: date) -> int:
    """Queue a reminder for every enrolled person of a scheduled offering that starts within
    REMIND_DAYS days and who has not been reminded; returns how many were queued."""
    due = (
        session.scalars(
            select(Enrolment)
            .join(Offering, Offering.id == Enrolment.offering_id)
            .options(
                joinedload(Enrolment.user),
                joinedload(Enrolment.offering).joinedload(Offering.item),
                joinedload(Enrolment.offering).selectinload(Offering.days),
            )
            .where(
                Enrolment.status == EnrolmentStatus.ENROLLED,
                Enrolment.reminded_at.is_(None),
                Offering.upcoming(today),
                Offering.starts_on <= today + timedelta(days=REMIND_DAYS),
            )
            .order_by(Enrolment.id)
            .with_for_update(of=Enrolment, skip_locked=True)
        )
        .unique()
        .all()
    )
    queued = 0
    for enrolment in due:
        # Claim it first: a second consumer running the same task skips it.
        claimed = session.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id, Enrolment.reminded_at.is_(None))
            .values(reminded_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        offering = enrolment.offering
        online = offering.format == OfferingFormat.LIVE_ONLINE
        message = queue_message(
            session,
            user=enrolment.user,
            kind="offering_reminder",
            subject=f"Reminder: {offering.item.title} starts {dates.day(offering.starts_on)}",
            template="offering_reminder",
            context={
                "title": offering.item.title,
                "starts": dates.day(offering.starts_on, weekday=True),
                "days": [_day_line(day) for day in offering.days],
                "join_url": offering.join_url if online else "",
                "place": "online (the link is on the offering's page)"
                if online
                else offering.location,
                "link": public_url("offerings.detail", offering_id=offering.id),
                "optional_note": True,
            },
            optional=True,
        )
        queued += message is not None
    return queued

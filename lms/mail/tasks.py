"""The mail's jobs: deliver outbox rows after their unit of work commits, find the rows still
due, and queue the reminders of offerings about to start."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from huey import crontab
from sqlalchemy.orm import Session

from lms.clock import today as programme_today
from lms.db import db
from lms.jobs import URGENT, DueWork, due_work, task
from lms.mail.reminders import send_due
from lms.mail.services import deliver, due_message_ids

DELIVERY_BATCH = 200


@task("deliver_messages", priority=URGENT)
def deliver_messages(ids: list[int]) -> None:
    """Send the given outbox rows (the claim inside skips any already sent or being sent)."""
    deliver(ids=list(ids))


@task("reminders", schedule=crontab(minute="7"))
def send_reminders(today: date | None = None) -> int:
    """Hourly: queue the reminders due today (offerings about to start); how many."""
    return send_due(db.session, today=today or programme_today(db.session))


def _due_messages(session: Session, cutoff: datetime) -> list[tuple[str, tuple[Any, ...]]]:
    """A delivery job for each batch of outbox rows written before the cutoff and still due."""
    ids = due_message_ids(session, before=cutoff)
    return [
        ("deliver_messages", (ids[start : start + DELIVERY_BATCH],))
        for start in range(0, len(ids), DELIVERY_BATCH)
    ]


due_work(
    "messages",
    DueWork(label="outbox message(s)", find=_due_messages),
)

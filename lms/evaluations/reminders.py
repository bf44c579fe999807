"""The reminder e-mail: three days after attending, once, to whoever has not evaluated yet.

It is sent whatever the person chose about optional mail: their CE certificate waits for the
evaluation, so the reminder is about their record, like a decision; but never twice for the
same offering (an `evaluation_reminders` row is written with it, in one transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.db import utcnow
from lms.evaluations.models import EvaluationReminder
from lms.evaluations.services import PendingEvaluation, about_completion, pending_query
from lms.progress.api import Completion
from lms.signals import evaluation_reminder_due

REMINDER_AFTER = timedelta(days=3)
# Attendance recorded longer ago than this is not reminded about (the job was down, say):
# an e-mail about a course of months ago would confuse more than help.
REMINDER_WINDOW = timedelta(days=60)

_DUE = (
    pending_query()
    .join(User, User.id == Completion.user_id)
    .outerjoin(EvaluationReminder, about_completion(EvaluationReminder))
    .where(
        EvaluationReminder.user_id.is_(None),
        Completion.recorded_at <= bindparam("due_before"),
        Completion.recorded_at > bindparam("since"),
        User.active.is_(True),
        User.anonymised_at.is_(None),
    )
    .order_by(Completion.id)
)


def due_reminders(session: Session, now: datetime | None = None) -> list[PendingEvaluation]:
    """Evaluations still missing three days after the attendance was recorded, not reminded."""
    now = now or utcnow()
    rows = session.execute(
        _DUE, {"due_before": now - REMINDER_AFTER, "since": now - REMINDER_WINDOW}
    )
    return [PendingEvaluation(*row) for row in rows]


def send_due_reminders(session: Session, now: datetime | None = None) -> int:
    """Write a reminder row and its e-mail for each due evaluation; returns how many were sent.

    Each row goes in its own savepoint: a reminder another run wrote a moment ago is skipped,
    so two runs at once still send one e-mail per person and offering.
    """
    now = now or utcnow()
    due = due_reminders(session, now)
    people = {
        user.id: user
        for user in session.scalars(select(User).where(User.id.in_({d.user_id for d in due})))
    }
    sent = 0
    for pending in due:
        try:
            with session.begin_nested():
                session.add(
                    EvaluationReminder(
                        user_id=pending.user_id, offering_id=pending.offering_id, sent_at=now
                    )
                )
                session.flush()
        except IntegrityError:
            continue
        evaluation_reminder_due.send(
            people[pending.user_id],
            session=session,
            title=pending.title,
            endpoint="evaluations.form",
            endpoint_values={"offering_id": pending.offering_id},
        )
        sent += 1
    return sent

"""The evaluations' job: the hourly reminder to evaluate an offering attended."""

from __future__ import annotations

from huey import crontab

from lms.db import db
from lms.evaluations.reminders import send_due_reminders
from lms.jobs import task


@task("remind_evaluations", schedule=crontab(minute="17"))
def remind_evaluations() -> int:
    """Hourly: e-mail whoever has not evaluated an offering three days after attending it
    (once per person and offering: the reminder's row is written with its outbox row)."""
    return send_due_reminders(db.session)

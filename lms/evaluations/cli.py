"""`flask lms evaluations remind`: send the reminders that are due now (the job does it hourly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from lms.db import db

evaluations_cli = AppGroup("evaluations", help="The CE evaluation: reminders.")


@evaluations_cli.command("remind")
@with_appcontext
def remind_command() -> None:
    """E-mail everyone whose evaluation is missing three days after attending (once each)."""
    from lms.evaluations.reminders import send_due_reminders

    sent = send_due_reminders(db.session)
    db.commit()
    click.echo(f"Sent {sent} evaluation reminder(s).")


def register(group: click.Group) -> None:
    """Add `evaluations` to `flask lms`."""
    group.add_command(evaluations_cli)

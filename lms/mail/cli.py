"""`flask lms mail ...`: retry waiting messages and send the staff digest (for cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from lms.db import db

mail_cli = AppGroup("mail", help="Outgoing e-mail: retry the outbox, send the daily digest.")


@mail_cli.command("send-pending")
@with_appcontext
def send_pending() -> None:
    """Send every message still waiting in the outbox (failed ones are retried)."""
    from lms.mail.services import deliver

    report = deliver()
    click.echo(f"Sent {report.sent}, failed {report.failed}, still waiting {report.waiting}.")
    if report.failed:
        raise SystemExit(1)


@mail_cli.command("digest")
@with_appcontext
def digest() -> None:
    """Queue today's digest to reviewers and instructors for the job consumer (run once a day)."""
    from lms.mail.digest import send_digests

    report = send_digests(db.session)
    db.commit()  # enqueues the delivery of the queued digests
    click.echo(
        f"Digests queued: {report.queued}; nothing waiting for {report.nothing_waiting}; "
        f"already sent today to {report.already_sent}."
    )


def register(group: click.Group) -> None:
    """Add `mail` to `flask lms`."""
    group.add_command(mail_cli)

"""`flask lms screening purge`: erase old screening answers under the retention policy."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from lms.db import db
from lms.retreats.services import purge_screenings

screening_cli = AppGroup("screening", help="Medical-screening answers (health data).")


@screening_cli.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    required=True,
    metavar="DAYS",
    help="Erase answers of sessions that ended more than DAYS days ago.",
)
@with_appcontext
def purge(days: int) -> None:
    """Erase screening answers of sessions that ended more than DAYS ago (decisions stay)."""
    from lms.cli import refusal_fails

    with refusal_fails():
        count = purge_screenings(db.session, older_than_days=days)
        db.commit()
    click.echo(
        f"Erased the screening answers of {count} application{'s' if count != 1 else ''} "
        f"(sessions that ended more than {days} days ago). Decisions and the audit trail are kept."
    )


def register(group: click.Group) -> None:
    """Add `screening` to `flask lms`."""
    group.add_command(screening_cli)

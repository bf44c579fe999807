"""Demo data for `make run` (`flask --app wsgi lms demo`): staff, a fresh clinician, and a
dozen clinicians at varied stages, all made through the real services and safe to rerun.

Every step checks whether it has already happened before doing it, so a second run changes
nothing; and because the checks are per step, a run after a newer release adds only what is
new. Dates of training are real past dates (2024-2026).

Who they are is lms.demo.cast (plain data); lms.demo.loader makes it so; lms.demo.passwords
holds the one demo password; this module holds the command.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.db import db
from lms.demo.cast import CLINICIANS, STAFF
from lms.demo.loader import DemoReport, create_demo_data
from lms.demo.passwords import PASSWORD_ENV, PASSWORD_FILE, demo_password
from lms.demo.training_cast import CANDIDATES, CONSULTANT_ACCOUNTS, CONSULTANTS
from lms.errors import DomainError
from lms.storage import store

__all__ = [
    "CANDIDATES",
    "CLINICIANS",
    "CONSULTANTS",
    "CONSULTANT_ACCOUNTS",
    "PASSWORD_ENV",
    "PASSWORD_FILE",
    "STAFF",
    "DemoReport",
    "create_demo_data",
    "demo_password",
    "print_logins",
    "register",
]

# --------------------------------------------------------------------------------------------
# Command line


RESET_COMMAND = "flask --app wsgi lms demo --reset-passwords"


def print_logins(report: DemoReport, echo: Callable[[str], None]) -> None:
    """Print every demo login with the one password, and what each account shows; an account
    that keeps a password of its own is marked, so the list never claims what is not so."""
    kept = set(report.passwords.kept)
    width = max(len(p.email) for p in report.people)
    echo("")
    if kept:
        echo(f"Demo accounts (password: {report.password}; those marked * keep their own)")
    else:
        echo(f"Demo accounts (password for all: {report.password})")
    for person in report.people:
        roles = ", ".join(sorted(r.label for r in person.roles))
        mark = "*" if person.email in kept else " "
        echo(f" {mark}{person.email.ljust(width)}  {roles:<17} {person.name}: {person.stage}")
    echo("")


def print_changes(report: DemoReport, echo: Callable[[str], None]) -> None:
    """Say what the run changed (or that it changed nothing), and every password it did not."""
    if report.changed:
        reset = f", {len(report.passwords.reset)} passwords reset" if report.passwords.reset else ""
        echo(
            f"Demo data: {len(report.created)} accounts created, "
            f"{report.steps_done} training records added{reset}."
        )
    else:
        echo("Demo data already in place: nothing changed.")
    if reset := report.passwords.reset:
        echo(
            f"Set the demo password on {len(reset)} account(s) that had another one (audited; "
            f"their sessions end): {', '.join(reset)}."
        )
    if kept := report.passwords.kept:
        echo(
            f"{len(kept)} demo account(s) keep a password of their own, not the one below "
            "(changed since, or set from another LMS_DEMO_PASSWORD); nothing was changed for "
            f"them. To give them the one below: {RESET_COMMAND}"
        )
    for what in sorted(report.skipped):
        echo(f"Skipped: {what}.")


def register(group: AppGroup) -> None:
    """Add `flask lms demo` to the command line."""

    @group.command("demo")
    @click.option(
        "--reset-passwords",
        is_flag=True,
        help="Set the demo password on demo accounts that have another one (audited).",
    )
    @with_appcontext
    def demo_command(reset_passwords: bool) -> None:
        """Create the demo accounts and data (safe to run again) and print the logins.

        A demo account whose password was changed keeps it unless --reset-passwords is given.
        """
        config = current_app.config
        try:
            password = demo_password(config["LMS_INSTANCE_PATH"])
            report = create_demo_data(
                db.session,
                password=password,
                evidence_store=store("evidence"),
                screening_key=config.get("LMS_SCREENING_KEY"),
                reset_passwords=reset_passwords,
            )
            db.commit()
        except DomainError as error:
            db.rollback()
            raise click.ClickException(error.message) from error
        print_changes(report, click.echo)
        print_logins(report, click.echo)

"""Demo data for `make run` (`flask --app wsgi lms demo`): staff, a fresh clinician, and a
dozen clinicians at varied stages, all made through the real services and safe to rerun.

Every step checks whether it has already happened before doing it, so a second run changes
nothing; and because the checks are per step, a run after a newer release adds only what is
new. Dates of training are real past dates (2024-2026).

Who they are is lms.demo.cast (plain data); lms.demo.loader makes it so; this module holds the
command and the one demo password.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.auth.api import password_problem
from lms.db import db
from lms.demo.cast import CLINICIANS, STAFF
from lms.demo.loader import DemoReport, create_demo_data
from lms.errors import DomainError, InvalidInput
from lms.storage import store

__all__ = [
    "CLINICIANS",
    "PASSWORD_ENV",
    "PASSWORD_FILE",
    "STAFF",
    "DemoReport",
    "create_demo_data",
    "demo_password",
    "print_logins",
    "register",
]

PASSWORD_ENV = "LMS_DEMO_PASSWORD"  # noqa: S105 - the variable name, not a password
PASSWORD_FILE = "demo_password"  # noqa: S105 - a file name


# --------------------------------------------------------------------------------------------
# The demo password


def demo_password(instance_path: str | Path, environ: dict[str, str] | None = None) -> str:
    """LMS_DEMO_PASSWORD, else the one stored in instance/demo_password, else a new one
    (stored there, readable by the owner only, so the next run prints the same)."""
    environ = os.environ if environ is None else environ
    given = environ.get(PASSWORD_ENV, "")
    if given:
        if problem := password_problem(given):
            raise InvalidInput(f"{PASSWORD_ENV} is not usable: {problem}")
        return given
    stored = Path(instance_path) / PASSWORD_FILE
    if stored.exists():
        password = stored.read_text(encoding="utf-8").strip()
        if not password_problem(password):
            return password
    password = secrets.token_urlsafe(12)
    stored.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


# --------------------------------------------------------------------------------------------
# Command line


def print_logins(report: DemoReport, echo: Callable[[str], None]) -> None:
    """Print every demo login with the one password, and what each account shows."""
    width = max(len(p.email) for p in report.people)
    echo("")
    echo(f"Demo accounts (password for all: {report.password})")
    for person in report.people:
        roles = ", ".join(sorted(r.label for r in person.roles))
        echo(f"  {person.email.ljust(width)}  {roles:<17} {person.name}: {person.stage}")
    echo("")


def register(group: AppGroup) -> None:
    """Add `flask lms demo` to the command line."""

    @group.command("demo")
    @with_appcontext
    def demo_command() -> None:
        """Create the demo accounts and data (safe to run again) and print the logins."""
        config = current_app.config
        try:
            password = demo_password(config["LMS_INSTANCE_PATH"])
            report = create_demo_data(
                db.session,
                password=password,
                evidence_store=store("evidence"),
                screening_key=config.get("LMS_SCREENING_KEY"),
            )
            db.commit()
        except DomainError as error:
            db.rollback()
            raise click.ClickException(error.message) from error
        if report.created or report.steps_done:
            click.echo(
                f"Demo data: {len(report.created)} accounts created, "
                f"{report.steps_done} training records added."
            )
        else:
            click.echo("Demo data already in place: nothing changed.")
        for what in sorted(report.skipped):
            click.echo(f"Skipped: {what}.")
        print_logins(report, click.echo)

"""`flask lms ...` and `flask db ...`: the tracker's command-line interface."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.db import db
from lms.errors import DomainError

lms_cli = AppGroup("lms", help="Manage the KAP training tracker.")
db_cli = AppGroup("db", help="Migrate the database schema (Alembic).")


def engine():  # noqa: ANN201
    """The current app's engine."""
    return current_app.extensions["lms"].db.engine


def fail(message: str) -> None:
    """Print a one-line error and exit non-zero, leaving the database as it was."""
    db.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@contextmanager
def refusal_fails() -> Iterator[None]:
    """Run a command's change: a rule's refusal (a DomainError) ends the command with its
    message, as `fail` does, and the database is left as it was."""
    try:
        yield
    except DomainError as error:
        fail(error.message)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from lms import migrate  # Alembic is imported only by the commands that need it

    url = current_app.config["LMS_DATABASE_URL"]
    if (folder := migrate.instance_dir_for(url)) is not None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # an existing one is left as is
    migrate.upgrade(engine(), revision)
    click.echo(f"Database is at revision {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION."""
    from lms import migrate

    migrate.downgrade(engine(), revision)
    click.echo(f"Database is at revision {revision}.")


def register_feature_commands() -> None:
    """Add each feature's commands to `flask lms`."""
    from importlib import import_module

    from lms.features import CLI_MODULES

    for name in CLI_MODULES:
        import_module(name).register(lms_cli)


register_feature_commands()

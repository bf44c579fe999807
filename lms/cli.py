"""`flask lms ...` and `flask db ...`: the tracker's command-line interface."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

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


def fail(message: str) -> NoReturn:
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
    migrate = _migrate()
    url = current_app.config["LMS_DATABASE_URL"]
    if (folder := migrate.instance_dir_for(url)) is not None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # an existing one is left as is
    with refusal_fails():
        if migrate.revisions_applied(engine(), revision):  # checked before Alembic starts
            migrate.upgrade(engine(), revision)
    click.echo(f"Database is at revision {_where(migrate.current_revision(engine()))}.")


@db_cli.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Migrate down without asking first.")
@click.option("--force", is_flag=True, help="Migrate down even when LMS_ENV is production.")
@with_appcontext
def db_downgrade(revision: str, yes: bool, force: bool) -> None:
    """Migrate the database down to REVISION (`base`: drop every table).

    Undoing a revision drops what it added, with the data in it: the command says what it
    would undo and asks first (--yes answers for you), and refuses a production database
    unless --force is given too.
    """
    migrate = _migrate()
    with refusal_fails():
        undone = migrate.revisions_undone(engine(), revision)
    if not undone:
        current = _where(migrate.current_revision(engine()))
        click.echo(f"Database is at revision {current}: nothing to undo.")
        return
    loss = (
        "drops every table with all its data"
        if revision == "base"
        else "drops the tables and columns they added, with their data"
    )
    steps = (
        f"undoes revision{'s' if len(undone) > 1 else ''} {', '.join(reversed(undone))} and {loss}"
    )
    if current_app.config.get("LMS_ENV", "production") == "production" and not force:
        fail(
            f"LMS_ENV is production: migrating down to {revision} {steps}; nothing was "
            "changed (back the database up first, then add --force to do it all the same)"
        )
    if not yes:
        try:
            click.confirm(f"Migrating down to {revision} {steps}. Go ahead?", abort=True)
        except click.Abort:
            fail("not confirmed: nothing was changed (add --yes to migrate down without asking)")
    with refusal_fails():
        migrate.downgrade(engine(), revision)
    click.echo(f"Database is at revision {_where(migrate.current_revision(engine()))}.")


def _where(revision: str | None) -> str:
    """A revision as the commands print it: base when empty, `(head)` when the newest."""
    if revision is None:
        return "base (no tables)"
    return f"{revision} (head)" if revision == _migrate().head_revision() else revision


def _migrate():  # noqa: ANN202 - the module
    """lms.migrate, imported (with Alembic) only by the commands that need it."""
    # Alembic names each of its plugins at INFO as it imports them: no news for whoever
    # migrates, and noise around a one-line refusal.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from lms import migrate

    return migrate


def register_feature_commands() -> None:
    """Add each feature's commands to `flask lms`."""
    from importlib import import_module

    from lms.features import CLI_MODULES

    for name in CLI_MODULES:
        import_module(name).register(lms_cli)


register_feature_commands()

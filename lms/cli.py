"""`flask lms ...` and `flask db ...`: the tracker's command-line interface."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.auth import services as auth_services
from lms.auth.models import Role
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


user_cli = AppGroup("user", help="Manage accounts.")


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    default=["admin"],
    show_default=True,
)
@click.option("--credentials", default="")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def user_create(
    email: str, name: str, roles: tuple[str, ...], credentials: str, password: str
) -> None:
    """Create an account (the first administrator, for example)."""
    try:
        user = auth_services.create_user(
            db.session,
            email=email,
            name=name,
            password=password,
            roles={Role(r) for r in roles},
            credentials=credentials,
        )
        db.commit()
    except DomainError as error:
        fail(error.message)
    click.echo(f"Created {user.email} with roles {', '.join(sorted(roles))}.")


lms_cli.add_command(user_cli)


def register_feature_commands() -> None:
    """Add each feature's commands to `flask lms`."""
    from importlib import import_module

    from lms.features import CLI_MODULES

    for name in CLI_MODULES:
        import_module(name).register(lms_cli)


register_feature_commands()

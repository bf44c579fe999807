"""`flask lms user ...`: accounts from the command line (the first administrator, say)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from lms.auth import services as auth_services
from lms.auth.models import Role
from lms.cli import refusal_fails
from lms.db import db

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
    with refusal_fails():
        user = auth_services.create_user(
            db.session,
            email=email,
            name=name,
            password=password,
            roles={Role(r) for r in roles},
            credentials=credentials,
        )
        db.commit()
    click.echo(f"Created {user.email} with roles {', '.join(sorted(roles))}.")


def register(group: click.Group) -> None:
    """Add `user` to `flask lms`."""
    group.add_command(user_cli)

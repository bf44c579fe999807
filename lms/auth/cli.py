"""`flask lms user ...`: accounts from the command line (the first administrator, say)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from lms.auth import services as auth_services
from lms.auth.models import Role
from lms.auth.passwords import password_problem
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
@click.option("--password", default=None, help="Asked for (twice) when not given.")
@with_appcontext
def user_create(
    email: str, name: str, roles: tuple[str, ...], credentials: str, password: str | None
) -> None:
    """Create an account (the first administrator, for example).

    The address, name and credentials are checked (and the address looked up) before the
    password is asked for, so a typo or a taken address is refused at once.
    """
    details = {
        "email": email,
        "name": name,
        "roles": {Role(r) for r in roles},
        "credentials": credentials,
    }
    with refusal_fails():
        try:
            # The account's own checks, run without a password and rolled back: the one
            # definition of a good address and name, asked before anyone types a password.
            auth_services.create_user(db.session, password=None, **details)
        finally:
            db.rollback()
    if password is None:
        password = click.prompt(
            "Password",
            hide_input=True,
            confirmation_prompt=True,
            value_proc=lambda typed: _acceptable_password(typed, email),
        )
    with refusal_fails():
        user = auth_services.create_user(db.session, password=password, **details)
        db.commit()
    click.echo(f"Created {user.email} with roles {', '.join(sorted(roles))}.")


def _acceptable_password(password: str, email: str) -> str:
    """The typed password, or asked again with the reason it cannot be used."""
    if problem := password_problem(password, auth_services.normalise_email(email)):
        raise click.BadParameter(problem)
    return password


def register(group: click.Group) -> None:
    """Add `user` to `flask lms`."""
    group.add_command(user_cli)

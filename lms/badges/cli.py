"""`flask lms credentials ...`: the issuer's signing key for Open Badges."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.badges.keys import KeyFileError, Keyring, ensure_signing_key, keys_folder, rotate
from lms.cli import fail

credentials_cli = AppGroup("credentials", help="The key that signs the Open Badges.")


def _folder():  # noqa: ANN202 - a Path
    """This instance's key folder."""
    return keys_folder(current_app.config["LMS_INSTANCE_PATH"])


def _keyring() -> Keyring:
    """This instance's keys, the first signing key made if there is none (the command fails
    with the reason when the folder cannot be read or written)."""
    try:
        return ensure_signing_key(_folder())
    except KeyFileError as error:
        fail(str(error))


@credentials_cli.command("make-key")
@with_appcontext
def make_key_command() -> None:
    """Make the first signing key if there is none (what `make setup` does)."""
    keyring = _keyring()
    assert keyring.signing is not None
    click.echo(f"Signing key {keyring.signing.kid} in {_folder()}.")


@credentials_cli.command("rotate-key")
@with_appcontext
def rotate_key_command() -> None:
    """Make a new signing key; the old one stops signing and stays published."""
    try:
        new, retired = rotate(_folder())
    except KeyFileError as error:
        fail(str(error))
    if retired:
        click.echo(f"New signing key {new}; {retired} is retired and stays published.")
    else:
        click.echo(f"New signing key {new}.")


@credentials_cli.command("keys")
@with_appcontext
def list_keys_command() -> None:
    """List the published keys, newest first, marking the one that signs."""
    keyring = _keyring()
    signing = keyring.signing.kid if keyring.signing else None
    for kid in keyring.kids:
        click.echo(f"{kid}{'  (signs)' if kid == signing else '  (retired)'}")


def register(group: click.Group) -> None:
    """Add `credentials` to `flask lms`."""
    group.add_command(credentials_cli)

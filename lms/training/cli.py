"""`flask lms training show|publish|rebuild`: the credential's requirement in words, a new
version of it from a JSON file (for new candidates, or for everyone with --everyone), and
every candidate's kept standing judged again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from lms.catalog.api import describe
from lms.db import db
from lms.errors import DomainError
from lms.progress.services import shared_programme
from lms.training.models import Candidate, RequirementVersion
from lms.training.requirement import DEFAULT_RULE, publish_requirement, stored_credential
from lms.training.standing import rebuild

training_cli = AppGroup("training", help="The Certificate of Training's requirement.")


@training_cli.command("show")
@with_appcontext
def show_command() -> None:
    """Print each version of the requirement in words, with how many candidates it holds."""
    credential = stored_credential(db.session)
    if credential is None:
        click.echo("Certificate of Training, version 1 as it ships (not stored yet)")
        click.echo(f"  requires: {describe(DEFAULT_RULE, shared_programme(db.session).names)}")
        return
    held = dict(
        db.session.execute(
            select(Candidate.version_id, func.count()).group_by(Candidate.version_id)
        ).all()
    )
    names = shared_programme(db.session).names
    versions = db.session.scalars(
        select(RequirementVersion)
        .where(RequirementVersion.credential_id == credential.id)
        .order_by(RequirementVersion.number)
    )
    for version in versions:
        click.echo(
            f"{credential.title}, version {version.number} "
            f"({held.get(version.id, 0)} candidates){': ' + version.note if version.note else ''}"
        )
        click.echo(f"  requires: {describe(version.rule, names)}")


@training_cli.command("publish")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--note", default="", help="What changed, for the audit log.")
@click.option(
    "--everyone",
    is_flag=True,
    help="Hold every present candidate to the new version too (audited).",
)
@with_appcontext
def publish_command(path: Path, note: str, everyone: bool) -> None:
    """Publish a new version of the requirement from a JSON rule file."""
    try:
        rule = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        click.echo(f"Error: {path} is not JSON: {error}", err=True)
        sys.exit(1)
    try:
        version = publish_requirement(
            db.session, rule=rule, actor_id=None, note=note, everyone=everyone
        )
        db.commit()
    except DomainError as error:
        db.rollback()
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(1)
    whom = "every candidate" if everyone else "new candidates"
    click.echo(f"Version {version.number} published; it applies to {whom}.")
    if everyone:
        click.echo(
            "Every candidate is judged against it by the job queue's consumer (`make run` starts"
            " one); `flask --app wsgi lms training rebuild` does it here instead."
        )


@training_cli.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Judge every candidate again and rewrite their kept standings (after a bulk load)."""
    changed = rebuild(db.session)
    db.commit()
    click.echo(f"{changed} candidate standings rewritten.")


def register(group: click.Group) -> None:
    """Add `training` to `flask lms`."""
    group.add_command(training_cli)

"""`flask lms completions import|export`: completion history in and out as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from lms.auth.services import find_user_by_email
from lms.db import db
from lms.errors import DomainError
from lms.progress import standings, tracking, transfer
from lms.signals import catalogue_loaded, completions_imported

completions_cli = AppGroup("completions", help="Import and export completion records (CSV).")


def _fail(lines: list[str], summary: str) -> None:
    """Print the problems and a summary to stderr, change nothing, exit 1."""
    db.rollback()
    for line in lines:
        click.echo(f"Error: {line}", err=True)
    click.echo(summary, err=True)
    sys.exit(1)


@completions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", "actor_email", help="E-mail of the staff member recorded as importer.")
@click.option(
    "--no-certificates",
    is_flag=True,
    help="Do not issue certificates for the imported completions.",
)
@with_appcontext
def import_command(file: Path, actor_email: str | None, no_certificates: bool) -> None:
    """Import FILE (columns email,item,completed_on,note), all rows or none."""
    data = file.read_bytes()  # lms.csv_reader decodes it and names a line it cannot read
    actor_id = None
    if actor_email:
        actor = find_user_by_email(db.session, actor_email)
        if actor is None or not actor.is_staff:
            _fail(
                [f"--actor {actor_email}: no instructor or admin has that e-mail"],
                "Nothing was imported.",
            )
        actor_id = actor.id
    try:
        report = transfer.import_completions(
            db.session, transfer.parse_csv(data), actor_id=actor_id
        )
        db.commit()
    except transfer.ImportRefused as refused:
        _fail(refused.problems, f"{file}: {refused.message}")
    except DomainError as error:
        _fail([error.message], "Nothing was imported.")
    click.echo(
        f"Imported {len(report.completion_ids)} completions for {report.clinicians} "
        f"clinicians from {file}."
    )
    for code, count in sorted(report.by_item.items()):
        click.echo(f"  {code}: {count}")
    # After the commit: receivers do their bulk follow-up (certificates with a progress bar).
    completions_imported.send(
        current_app._get_current_object(),
        completion_ids=report.completion_ids,
        issue_certificates=not no_certificates,
    )


@completions_cli.command("export")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@with_appcontext
def export_command(output: Path | None) -> None:
    """Write every live completion as CSV, in the format `import` reads."""
    text = transfer.export_completions(db.session)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {text.count(chr(10)) - 1} completions to {output}.", err=True)


progress_cli = AppGroup("progress", help="Check and repair the progress read model.")


def refresh_with_progress(label: str, ids: list[int] | None = None) -> standings.Report:
    """Recompute standings (everyone when ids is None) with a progress bar on stderr."""
    session = db.session
    session.flush()
    total = len(ids) if ids is not None else len(standings.everyone(session))
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        return standings.refresh(session, ids, on_progress=bar.update)


def recompute_after_catalogue_load(_report: Any, *, session: Session) -> None:
    """A changed rule or title changes everyone's standing: recompute now, with a progress
    bar, rather than silently at commit (receiver of lms.signals.catalogue_loaded)."""
    if tracking.catalogue_changed(session):
        refresh_with_progress("Recomputing standings")


def subscribe() -> None:
    """Recompute the standings when `flask lms catalog load` changed the catalogue (once)."""
    catalogue_loaded.connect(recompute_after_catalogue_load)


@progress_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Recompute every standing from history; list each stored row that differs (exit 1)."""
    report = standings.check(db.session)
    for line in report.differences[:200]:
        click.echo(line)
    if len(report.differences) > 200:
        click.echo(f"... and {len(report.differences) - 200} more")
    if report.differences:
        click.echo(
            f"{len(report.differences)} difference(s) over {report.people} clinician(s); "
            "run `flask --app wsgi lms progress rebuild` to repair.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"Standings of {report.people} clinician(s) match their history.")


@progress_cli.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Recompute every standing from history and write what differs."""
    report = refresh_with_progress("Rebuilding standings")
    db.commit()
    click.echo(
        f"Rebuilt the standings of {report.people} clinician(s): {report.rows_written} row(s) "
        f"written, {report.rows_deleted} removed."
    )


@progress_cli.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Fold licences that lapsed into the standings (run daily from cron)."""
    report = standings.refresh_lapsed(db.session)
    db.commit()
    click.echo(
        f"Refreshed {report.people} clinician(s) whose licence lapsed: "
        f"{report.rows_written} row(s) written."
    )


def register(group: click.Group) -> None:
    """Add `completions` and `progress` to `flask lms`."""
    group.add_command(completions_cli)
    group.add_command(progress_cli)

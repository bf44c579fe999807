"""`flask lms catalog load|show`: load a catalogue file, print the catalogue with its rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from lms.catalog import rules, services
from lms.db import db
from lms.signals import catalogue_loaded

catalog_cli = AppGroup("catalog", help="Load and show the programme catalogue.")


@catalog_cli.command("load")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--default", "use_default", is_flag=True, help="Load the catalogue that ships.")
@with_appcontext
def load_command(path: Path | None, use_default: bool) -> None:
    """Load a TOML catalogue file (idempotent; a bad file changes nothing)."""
    if use_default == (path is not None):
        raise click.UsageError("Give either a PATH or --default (not both).")
    target = services.DEFAULT_CATALOG if use_default else path
    try:
        report = services.load_catalog(db.session, target)
        catalogue_loaded.send(report, session=db.session)  # e.g. standings, with a bar
        db.commit()
    except services.CatalogError as error:
        db.rollback()
        for problem in error.problems:
            click.echo(f"Error: {problem}", err=True)
        click.echo(f"The catalogue was not loaded ({len(error.problems)} problems).", err=True)
        sys.exit(1)
    click.echo(f"Catalogue {target}: {report.summary()}.")
    for label, codes in (
        ("created", report.created),
        ("updated", report.updated),
        ("deactivated", report.deactivated),
    ):
        if codes:
            click.echo(f"  {label}: {', '.join(codes)}")


@catalog_cli.command("show")
@click.option("--all", "show_all", is_flag=True, help="Include deactivated items.")
@with_appcontext
def show_command(show_all: bool) -> None:
    """Print each item: code, kind, CE hours, title and prerequisite in words."""
    rows = services.all_items_with_session_counts(db.session)
    names = services.all_names(db.session)
    if not rows:
        click.echo("The catalogue is empty; run `flask --app wsgi lms catalog load --default`.")
        return
    shown = [(item, count) for item, count in rows if show_all or item.active]
    width = max(len(item.code) for item, _ in shown)
    click.echo(f"{'CODE':<{width}}  {'KIND':<16}  {'CE':>6}  TITLE")
    for item, count in shown:
        hours = "-" if item.ce_hours is None else f"{item.ce_hours.normalize():f}"
        flags = "" if item.active else "  [inactive]"
        click.echo(f"{item.code:<{width}}  {item.kind.label:<16}  {hours:>6}  {item.title}{flags}")
        indent = " " * (width + 2)
        click.echo(f"{indent}requires: {rules.describe(item.prerequisite, names)}")
        if item.recommended:
            click.echo(f"{indent}recommended: {rules.describe(item.recommended, names)}")
        if item.is_retreat:
            click.echo(f"{indent}sessions: {count}")


def register(group: click.Group) -> None:
    """Add `catalog` to `flask lms`."""
    group.add_command(catalog_cli)

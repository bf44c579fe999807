"""`flask lms enrolments import FILE --offering ID`: a shop's enrolments into an offering."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from lms.db import db
from lms.offerings.enrolment import ShopImportError, import_shop_csv

enrolments_cli = AppGroup("enrolments", help="Enrolments in offerings.")


@enrolments_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offering", "offering_id", type=click.IntRange(min=1), required=True)
@with_appcontext
def import_command(path: Path, offering_id: int) -> None:
    """Enrol everyone in a shop's CSV export (columns email,enrolled_on): all rows or none.

    Unknown e-mail addresses are listed and nothing is imported; no account is created.
    """
    from lms.cli import refusal_fails

    data = path.read_bytes()  # read as the page reads an upload: lms.csv_reader decodes it
    with refusal_fails():
        try:
            report = import_shop_csv(db.session, offering_id, data, actor_id=None)
            db.commit()
        except ShopImportError as error:
            db.rollback()
            click.echo(f"Error: {path}: nothing was imported:", err=True)
            for problem in error.problems:
                click.echo(f"  {problem}", err=True)
            raise SystemExit(1) from None
    click.echo(
        f"Imported {path.name} into offering {offering_id}: {len(report.enrolled)} enrolled, "
        f"{len(report.waitlisted)} waitlisted, {len(report.already)} already enrolled."
    )


def register(group: click.Group) -> None:
    """Add `enrolments` to `flask lms`."""
    group.add_command(enrolments_cli)

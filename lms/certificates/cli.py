"""`flask lms certificates ...`: bulk issue of missing certificates, revoke and reissue."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, with_appcontext

from lms.cli import fail, refusal_fails
from lms.db import db

certificates_cli = AppGroup("certificates", help="Issue, revoke and reissue certificates.")


def issue_with_progress(*, completion_ids: list[int] | None = None, jobs: int | None = None) -> int:
    """Issue due certificates with a progress bar on stderr; return how many were issued.

    First the missing issue records (cheap, no render), then every PDF still due, on a pool
    of rendering processes, stored with the same guarded write as the render job.
    """
    from lms.certificates import services

    session = db.session
    services.record_missing(session, commit=db.commit, completion_ids=completion_ids)
    due = services.due_render_ids(session, completion_ids=completion_ids)
    db.commit()
    if not due:
        click.echo("No certificates are due.", err=True)
        return 0
    with click.progressbar(
        length=len(due), label="Issuing certificates", file=sys.stderr, show_pos=True
    ) as bar:
        issued = services.render_due(
            session, due, commit=db.commit, jobs=jobs, on_progress=bar.update
        )
    click.echo(f"Issued {issued} certificate(s).", err=True)
    return issued


@certificates_cli.command("issue")
@click.option("--missing", is_flag=True, help="Issue every certificate that is due and missing.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Rendering processes (default: every CPU core).",
)
@with_appcontext
def issue_command(missing: bool, jobs: int | None) -> None:
    """Issue certificates for live completions that have none (safe to interrupt and rerun)."""
    if not missing:
        fail("say which certificates to issue: --missing issues every one that is due")
    with refusal_fails():
        issued = issue_with_progress(jobs=jobs)
    click.echo(f"Done: {issued} issued.")


def _certificate_id(code_or_serial: str) -> int:
    """The id of the certificate with this verification code or serial (exits when unknown)."""
    from sqlalchemy import func, select

    from lms.certificates.codes import normalise_code
    from lms.certificates.models import Certificate

    code = normalise_code(code_or_serial)
    certificate_id = db.session.scalar(
        select(Certificate.id).where(
            (Certificate.code == code)
            | (func.upper(Certificate.serial) == code_or_serial.strip().upper())
        )
    )
    if certificate_id is None:
        fail(f"no certificate has the code or serial {code_or_serial!r}")
    return certificate_id


@certificates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why; shown on the verification page.")
@with_appcontext
def revoke_command(code: str, reason: str) -> None:
    """Revoke the certificate with verification CODE (or serial)."""
    from lms.certificates import services

    with refusal_fails():
        certificate = services.revoke_certificate(
            db.session, _certificate_id(code), actor_id=None, reason=reason
        )
        db.commit()
    click.echo(f"Revoked {certificate.serial} ({certificate.code}).")


@certificates_cli.command("reissue")
@click.argument("code")
@with_appcontext
def reissue_command(code: str) -> None:
    """Reissue the certificate with verification CODE (or serial): a new code supersedes it."""
    from lms.certificates import services

    with refusal_fails():
        new = services.reissue_certificate(db.session, _certificate_id(code), actor_id=None)
        db.commit()
    click.echo(f"Reissued as {new.serial}; new verification code {new.code}.")


@certificates_cli.command("pictures")
@with_appcontext
def pictures_command() -> None:
    """Draw the first-page picture of every certificate that has none yet (safe to rerun)."""
    from lms.certificates import services
    from lms.certificates.pictures import AREA
    from lms.storage import store

    with refusal_fails():
        ids = services.missing_picture_ids(db.session)
        db.commit()
        drawn = services.backfill_pictures(db.session, store(AREA), ids)
        db.commit()
    click.echo(
        f"Done: {drawn} picture(s) drawn, {len(ids) - drawn} already there or without a page."
    )


def register(group: click.Group) -> None:
    """Add `certificates` to `flask lms`."""
    group.add_command(certificates_cli)

"""Revoking and reissuing certificates (administrators), with a required reason."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.audit.api import clean_reason, revoke
from lms.certificates.base import record_certificate_event
from lms.certificates.issuing import current_certificate, insert_pending, programme
from lms.certificates.models import Certificate
from lms.db import locked_row
from lms.errors import AlreadyDecided, Conflict
from lms.progress.api import Completion
from lms.signals import certificate_revoked, certificate_superseded

# ---------------------------------------------------------------------------------------
# Revoke and reissue


def _locked(session: Session, certificate_id: int) -> Certificate:
    """The certificate, row-locked and freshly read (so two admins cannot both act on it)."""
    return locked_row(session, Certificate, certificate_id, missing="No such certificate.")


def revoke_certificate(
    session: Session, certificate_id: int, *, actor_id: int | None, reason: str
) -> Certificate:
    """Revoke a certificate with a reason; it stays on record and verification says so."""
    reason = clean_reason(reason, "certificate")
    certificate = _locked(session, certificate_id)
    revoke(
        session,
        certificate,
        actor_id=actor_id,
        reason=reason,
        action="certificate.revoked",
        named=f"Certificate {certificate.serial}",
        serial=certificate.serial,
    )
    certificate_revoked.send(certificate, session=session, reason=reason)
    return certificate


def revoke_for_completion(
    session: Session, completion: Completion, *, actor_id: int | None, reason: str
) -> Certificate | None:
    """Revoke the current certificate of a completion that was revoked (None if it had none)."""
    certificate = current_certificate(session, completion.id)
    if certificate is None:
        return None
    return revoke_certificate(session, certificate.id, actor_id=actor_id, reason=reason)


def reissue_certificate(
    session: Session, certificate_id: int, *, actor_id: int | None
) -> Certificate:
    """Issue a fresh certificate (new code, today's name) that supersedes a current one.

    The new record is written now; its PDF follows from the render job after commit.
    """
    old = _locked(session, certificate_id)
    if old.revoked_at is not None:
        raise AlreadyDecided(f"Certificate {old.serial} is revoked; it cannot be reissued.")
    if old.superseded_by_id is not None:
        raise AlreadyDecided(f"Certificate {old.serial} was already superseded by a newer one.")
    completion = old.completion
    if completion is None:
        raise Conflict(
            f"Certificate {old.serial} stands for an award: revoke it and award again instead."
        )
    if completion.revoked_at is not None:
        raise Conflict("The completion behind this certificate was revoked.")
    # Only one current certificate per completion may exist at any instant (the partial
    # unique index), so the old one steps aside first by pointing at itself, then at its
    # successor once that has an id.
    old.superseded_by_id = old.id
    session.flush()
    new = insert_pending(session, completion, programme(session))
    assert new is not None  # the old row no longer counts as current
    old.superseded_by_id = new.id
    session.flush()
    certificate_superseded.send(old, session=session, newer=new)
    # The new PDF is rendered by a job after commit, like any other issue.
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit("render_certificates", [new.id], actor_id)
    record_certificate_event(
        session, old, "certificate.reissued", actor_id=actor_id, new_serial=new.serial
    )
    return new

"""Certificates' part of a person's privacy requests: issue records and their PDFs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.certificates import pictures
from lms.certificates.models import Certificate
from lms.clock import local_date_or_none
from lms.db import db


def _certificates(session: Session, user_id: int) -> list[Certificate]:
    """The person's certificates with their PDF bytes (one query)."""
    return list(
        session.scalars(
            select(Certificate)
            .options(undefer(Certificate.pdf))
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.id)
        )
    )


def export(session: Session, user: User) -> Export:
    """Each issue record, and each PDF as a file of the archive."""
    certificates = _certificates(session, user.id)
    return Export(
        [
            {
                "serial": c.serial,
                "verification_code": c.code,
                "issued_at": iso(c.issued_at),
                "expires_at": iso(c.expires_at),
                "revoked_at": iso(c.revoked_at),
                "revoke_reason": c.revoke_reason,
                "superseded": c.superseded_by_id is not None,
                "content": c.content,
                "pdf_file": f"certificates/{c.serial}.pdf" if c.pdf else None,
                "sha256": c.sha256,
            }
            for c in certificates
        ],
        files={f"certificates/{c.serial}.pdf": c.pdf for c in certificates if c.pdf},
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Kept for verification: the text scrubbed of the person, the PDF dropped, the hash kept
    (so a PDF the person presents can still be checked); the pictures of the first pages go
    once the deletion commits (never served again either way: they need the PDF)."""
    certificates = _certificates(session, erasure.person.id)
    keys = []
    for certificate in certificates:
        if len(certificate.sha256 or "") == 64:
            keys.extend(pictures.picture_keys(certificate.sha256))
            revoked_on = local_date_or_none(certificate.revoked_at, session)
            if revoked_on is not None:
                keys.extend(pictures.picture_keys(certificate.sha256, revoked_on))
        certificate.content = erasure.scrub(dict(certificate.content))
        certificate.pdf = b""
    if keys:
        kept = erasure.files[pictures.AREA]
        db.after_commit(lambda: [pictures.discard_picture(kept, key) for key in keys])
    erasure.facts["certificates_kept"] = len(certificates)


HOOKS = PrivacyHooks("certificates", export, erase)

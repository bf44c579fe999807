"""Certificates' part of a person's privacy requests: issue records and their PDFs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.certificates.models import Certificate


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
    (so a PDF the person presents can still be checked)."""
    certificates = _certificates(session, erasure.person.id)
    for certificate in certificates:
        certificate.content = erasure.scrub(dict(certificate.content))
        certificate.pdf = b""
    erasure.facts["certificates_kept"] = len(certificates)


HOOKS = PrivacyHooks("certificates", export, erase)

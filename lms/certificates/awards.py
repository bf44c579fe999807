"""Award certificates: the certificate a programme credential (the Certificate of Training)
issues when staff award it, on the same record, render job, verify page, revocation and Open
Badge as every other certificate.

The credential is not a catalogue item and has no completion: the record names the credential
instead (`Certificate.credential_id`), and the feature that awards it hands in plain values
(its id, code, title and the parts it attests), so certificates never read its tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.certificates.codes import format_serial, new_verification_code
from lms.certificates.context import CREDENTIAL_DESIGN, credential_content
from lms.certificates.issuing import holder_of, programme, verification_url
from lms.certificates.models import Certificate
from lms.clock import local_date
from lms.db import flush_or_refuse, utcnow
from lms.errors import AlreadyDecided


@dataclass(frozen=True)
class AwardFacts:
    """The credential an award certificate is for, as the awarding feature describes it."""

    credential_id: int
    code: str
    title: str
    attests: Sequence[str]


def current_award_certificate(
    session: Session, user_id: int, credential_id: int
) -> Certificate | None:
    """The person's current (neither revoked nor superseded) certificate of the credential."""
    return session.scalar(
        select(Certificate).where(
            Certificate.user_id == user_id,
            Certificate.credential_id == credential_id,
            Certificate.is_current,
        )
    )


def current_award_certificates(
    session: Session, user_ids: Sequence[int], credential_id: int
) -> dict[int, Certificate]:
    """Each person's current certificate of the credential (one query)."""
    if not user_ids:
        return {}
    found = session.scalars(
        select(Certificate).where(
            Certificate.user_id.in_(list(user_ids)),
            Certificate.credential_id == credential_id,
            Certificate.is_current,
        )
    )
    return {certificate.user_id: certificate for certificate in found if certificate.user_id}


def record_award_certificate(
    session: Session,
    user: User,
    award: AwardFacts,
    *,
    awarded_on: date,
    actor_id: int | None,
) -> Certificate:
    """Write the award's certificate record in this unit of work; its PDF is rendered by the
    job after commit, which audits the issue and tells the holder (as for any certificate).

    A second current certificate of the same credential is refused (the partial unique index
    `uq_certificates_current_award` has the last word under racing requests).
    """
    from lms.jobs import enqueue_after_commit

    if current_award_certificate(session, user.id, award.credential_id) is not None:
        raise AlreadyDecided(f"{user.name} already holds the {award.title}.")
    settings = programme(session)
    issued_at = utcnow()
    code = new_verification_code()
    certificate = Certificate(
        serial=f"PENDING-{code}",
        code=code,
        user_id=user.id,
        credential_id=award.credential_id,
        design=CREDENTIAL_DESIGN,
        content={},
        sha256="",
        issued_at=issued_at,
        expires_at=None,
    )
    refusal = AlreadyDecided(f"{user.name} already holds the {award.title}.")
    flush_or_refuse(session, refusal, add=certificate)
    issued_on = local_date(issued_at, session)
    certificate.serial = format_serial(issued_on.year, certificate.id)
    certificate.content = credential_content(
        holder=holder_of(user),
        code=award.code,
        title=award.title,
        attests=award.attests,
        awarded_on=awarded_on,
        issued_on=issued_on,
        serial=certificate.serial,
        verification_code=certificate.code,
        verify_url=verification_url(certificate.code),
        programme=settings,
    )
    session.flush()
    enqueue_after_commit("render_certificates", [certificate.id], actor_id)
    return certificate

"""What every part of certificates shares: a record's status and the PDF renderer.

The renderer imports WeasyPrint on the first render: most commands and requests never render.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from lms import bounds
from lms.audit.api import REASON_MAX  # noqa: F401 - the one bound, re-exported
from lms.audit.services import record_event_of
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.status import Status


def record_certificate_event(
    session: Session, certificate: Certificate, action: str, *, actor_id: int | None, **facts: Any
) -> None:
    """Audit an event of a certificate: it is the subject, its holder the person, and its
    serial the first of the facts."""
    record_event_of(
        session,
        "certificate",
        certificate,
        action,
        actor_id=actor_id,
        serial=certificate.serial,
        **facts,
    )


def render_pdf(design: str, content: Mapping[str, Any]) -> bytes:
    """Render a design to PDF bytes (WeasyPrint is imported on the first render).

    Most commands and requests never render; importing WeasyPrint up front cost every
    `flask --app wsgi ...` command about a second.
    """
    from lms.certificates.render import render_with_weasyprint

    return render_with_weasyprint(design, content)


SEARCH_PAGE_SIZE = 50
UPLOAD_MAX_BYTES = bounds.UPLOAD_MAX_BYTES


class CertificateStatus(Status):
    """Where a certificate stands, as the verification page states it."""

    VALID = "valid", "Valid", "ok"
    REVOKED = "revoked", "Revoked", "bad"
    EXPIRED = "expired", "Expired", "warn"
    SUPERSEDED = "superseded", "Superseded by a newer certificate", "info"
    PREPARING = "preparing", "Being prepared", "info"


def certificate_status(
    certificate: Certificate | Row, now: datetime | None = None
) -> CertificateStatus:
    """Revoked beats superseded beats being prepared beats expired; otherwise valid."""
    now = now or utcnow()
    if certificate.revoked_at is not None:
        return CertificateStatus.REVOKED
    if certificate.superseded_by_id is not None:
        return CertificateStatus.SUPERSEDED
    if certificate.rendered_at is None:
        return CertificateStatus.PREPARING
    if certificate.expires_at is not None and certificate.expires_at <= now:
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID

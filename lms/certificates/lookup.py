"""Finding certificates: lists and search, the stored PDF for download, and the dashboard's
section (public verification is lms.certificates.verifying). A download serves the stored
bytes, never a new render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select
from sqlalchemy.orm import Session, undefer

from lms import dates
from lms.auth.api import User
from lms.certificates.base import (
    SEARCH_PAGE_SIZE,
    CertificateStatus,
    certificate_status,
)
from lms.certificates.codes import normalise_code
from lms.certificates.models import Certificate
from lms.clock import local_date, local_date_or_none
from lms.db import read, utcnow
from lms.errors import NotFound

# ---------------------------------------------------------------------------------------
# Finding certificates


@dataclass(frozen=True)
class CertificateRow:
    """A certificate as lists and download links show it (plain values)."""

    id: int
    serial: str
    code: str
    holder_name: str
    user_id: int | None
    completion_id: int | None
    item_code: str
    title: str
    completed_on_text: str
    issued_on_text: str
    status: CertificateStatus
    revoked_on_text: str
    revoke_reason: str
    ce_hours: str


def _page_day(iso: Any) -> str:
    """A frozen ISO date in the pages' date style ('' when absent or unreadable).

    The frozen content also holds the date as printed on the PDF (the long form); pages
    show every date in the one style of lms.dates instead.
    """
    try:
        return dates.day(date.fromisoformat(iso)) if isinstance(iso, str) else ""
    except ValueError:
        return ""


def as_row(certificate: Certificate | Row, now: datetime | None = None) -> CertificateRow:
    """Plain values for a template from a certificate (or a row of its columns)."""
    content = certificate.content or {}
    return CertificateRow(
        id=certificate.id,
        serial=certificate.serial,
        code=certificate.code,
        holder_name=content.get("holder_name", ""),
        user_id=certificate.user_id,
        completion_id=certificate.completion_id,
        item_code=content.get("item_code", ""),
        title=content.get("title", ""),
        completed_on_text=_page_day(content.get("completed_on"))
        or content.get("completed_on_text", ""),
        issued_on_text=dates.day(local_date(certificate.issued_at)),
        status=certificate_status(certificate, now),
        revoked_on_text=dates.day(local_date_or_none(certificate.revoked_at)),
        revoke_reason=certificate.revoke_reason or "",
        ce_hours=content.get("ce_hours", ""),
    )


# Built once, and only the columns `as_row` reads (a result row has the same attribute names
# as the entity): the dashboard runs it on every view, and entity loading would cost more
# than the query.
_OWN_CERTIFICATES = (
    select(
        Certificate.id,
        Certificate.serial,
        Certificate.code,
        Certificate.user_id,
        Certificate.completion_id,
        Certificate.content,
        Certificate.issued_at,
        Certificate.rendered_at,
        Certificate.expires_at,
        Certificate.revoked_at,
        Certificate.revoke_reason,
        Certificate.superseded_by_id,
    )
    .where(Certificate.user_id == bindparam("user_id"))
    .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
)


def certificates_of(session: Session, user_id: int) -> list[CertificateRow]:
    """Every certificate issued to a person, newest first (one query)."""
    now = utcnow()
    return [as_row(row, now) for row in read(session, _OWN_CERTIFICATES, {"user_id": user_id})]


def search_certificates(
    session: Session, query: str = "", *, page: int = 1
) -> tuple[list[CertificateRow], int]:
    """Certificates whose holder name, serial or code matches, newest first, and the total."""
    conditions = []
    text = (query or "").strip()
    if text:
        like = f"%{text.lower()}%"
        holder = func.lower(Certificate.content["holder_name"].as_string())
        conditions.append(
            or_(
                holder.like(like),
                func.lower(Certificate.serial).like(like),
                Certificate.code == (normalise_code(text) or text.upper()),
            )
        )
    total = session.scalar(select(func.count(Certificate.id)).where(*conditions)) or 0
    page = max(1, page)
    certificates = session.scalars(
        select(Certificate)
        .where(*conditions)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(SEARCH_PAGE_SIZE)
        .offset((page - 1) * SEARCH_PAGE_SIZE)
    ).all()
    now = utcnow()
    return [as_row(c, now) for c in certificates], total


@dataclass(frozen=True)
class PersonSummary:
    """Who a certificates page is about."""

    id: int
    name: str
    credentials: str


def person_summary(session: Session, user_id: int) -> PersonSummary:
    """The name of the person whose certificates are listed (NotFound when unknown)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return PersonSummary(user.id, user.name, user.credentials or "")


def get_certificate(session: Session, certificate_id: int) -> Certificate:
    """A certificate by id (NotFound when there is none)."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("No such certificate.")
    return certificate


def stored_pdf(session: Session, certificate_id: int) -> Certificate:
    """A certificate with its stored PDF bytes loaded (never re-rendered).

    A certificate still being prepared comes back with `pdf` None; one that was revoked or
    superseded before its PDF was made has nothing to download (NotFound).
    """
    certificate = session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .options(undefer(Certificate.pdf))
    )
    if certificate is None:
        raise NotFound("No such certificate.")
    if not certificate.pdf and certificate_status(certificate) != CertificateStatus.PREPARING:
        raise NotFound("No such certificate.")
    return certificate


def download_name(certificate: Certificate) -> str:
    """A safe file name for a certificate download, e.g. `KAP-2026-000123-M1.pdf`."""
    item = str((certificate.content or {}).get("item_code", ""))
    stem = "-".join(part for part in (certificate.serial, item) if part)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem)
    return f"{safe.strip('-') or 'certificate'}.pdf"


@dataclass(frozen=True)
class CertificateLink:
    """The certificate a completed item links to on the dashboard."""

    id: int
    completion_id: int | None
    preparing: bool  # its PDF is still being made: the page says so instead of linking
    code: str = ""  # the verification code: the Open Badge's link


# Built once: the dashboard runs it on every view. Only what its links need (never the
# frozen content): the table of every certificate is the certificates page's.
_OWN_LINKS = select(
    Certificate.id,
    Certificate.completion_id,
    Certificate.rendered_at,
    Certificate.revoked_at,
    Certificate.superseded_by_id,
    Certificate.code,
).where(Certificate.user_id == bindparam("user_id"))


def dashboard_section(session: Session, user: User) -> tuple[str | None, dict[str, Any]]:
    """The certificate beside each completed item, and whether the person holds any (one
    query): the dashboard links to the certificates page and the transcript once they do.

    A revoked or superseded certificate stands beside nothing; an expired one still does (the
    download says it expired), as on the certificates page.
    """
    links = {}
    held = False
    for row in read(session, _OWN_LINKS, {"user_id": user.id}):
        held = True
        current = row.revoked_at is None and row.superseded_by_id is None
        if current and row.completion_id is not None:  # an award stands beside no item
            links[row.completion_id] = CertificateLink(
                row.id, row.completion_id, row.rendered_at is None, row.code
            )
    return None, {
        "certificates_by_completion": links,
        "certificates_held": held,
        "certificate_holder_id": user.id,
    }

"""Public verification: what the verify page says about a certificate (from its frozen content,
with fallbacks for certificates issued before a key existed), found by code or by uploaded
bytes in one query; the picture of its first page; the stamped download of a revoked one.

Nothing about the person beyond the name the certificate was issued to: no e-mail, no
licence number, no credentials.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased, undefer

from lms import dates
from lms.certificates import pictures
from lms.certificates.base import UPLOAD_MAX_BYTES, CertificateStatus
from lms.certificates.codes import normalise_code
from lms.certificates.context import format_date
from lms.certificates.lookup import as_row
from lms.certificates.models import Certificate
from lms.clock import local_date, local_date_or_none
from lms.db import utcnow
from lms.errors import InvalidInput, NotFound
from lms.storage import Storage

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
# A landscape page's picture height at pictures.WIDTH across, by the page size it printed on.
PICTURE_HEIGHTS = {"A4": 707, "Letter": 773}


@dataclass(frozen=True)
class Credit:
    """CE credit a certificate awards: its type and amount as printed."""

    type: str
    amount_text: str


@dataclass(frozen=True)
class Accreditation:
    """An accreditation statement with its approval (or provider) number."""

    body: str
    statement: str
    number_label: str
    number: str
    example: bool


@dataclass(frozen=True)
class Verification:
    """What the public verification page may say about a certificate, and nothing more."""

    holder_name: str
    title: str
    completed_on_text: str
    issued_on_text: str
    expires_on_text: str
    status: CertificateStatus
    revoked_on_text: str
    revoke_reason: str
    serial: str
    code: str
    id: int = 0
    user_id: int | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    provider_name: str = ""
    provider_logo: str = ""
    activity_id: str = ""
    activity_dates_text: str = ""
    location: str = ""
    credits: tuple[Credit, ...] = ()
    accreditations: tuple[Accreditation, ...] = field(default_factory=tuple)
    # "Awarded" for a programme credential (it stands beside no completion), else "Completed".
    awarded: bool = False
    superseded_by_code: str = ""
    has_picture: bool = False
    picture_height: int = 0  # of the picture, pictures.WIDTH across (its page's proportions)

    @property
    def current(self) -> bool:
        """Valid: the one status under which the holder may present it."""
        return self.status == CertificateStatus.VALID


def _iso_day(value: Any) -> date | None:
    """A frozen ISO date, None when absent or unreadable."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _credits(content: dict[str, Any]) -> tuple[Credit, ...]:
    """The credits list, or the one CE line certificates carried before it."""
    listed = content.get("credits")
    if isinstance(listed, list) and listed:
        found = []
        for credit in listed:
            if not isinstance(credit, dict):
                continue
            amount = str(credit.get("amount_text") or credit.get("amount") or "").strip()
            kind = str(credit.get("type") or "").strip()
            if amount or kind:
                found.append(Credit(kind, amount))
        return tuple(found)
    hours = str(content.get("ce_hours") or "").strip()
    if not hours:
        return ()
    unit = "hour" if hours == "1" else "hours"
    return (Credit(str(content.get("ce_type") or ""), f"{hours} {unit}"),)


def _accreditations(content: dict[str, Any]) -> tuple[Accreditation, ...]:
    """The accreditation list, or the plain statements certificates carried before it."""
    listed = content.get("accreditations")
    if isinstance(listed, list) and listed:
        return tuple(
            Accreditation(
                body=str(entry.get("body") or ""),
                statement=str(entry.get("statement") or ""),
                number_label=str(entry.get("number_label") or ""),
                number=str(entry.get("number") or ""),
                example=bool(entry.get("example")),
            )
            for entry in listed
            if isinstance(entry, dict) and (entry.get("statement") or entry.get("number"))
        )
    statements = content.get("statements") or []
    if not isinstance(statements, list):
        return ()
    return tuple(Accreditation("", str(s), "", "", False) for s in statements if str(s).strip())


def verification_of(
    certificate: Certificate, superseded_by_code: str | None = None, *, has_pdf: bool = True
) -> Verification:
    """The public facts of a certificate (its frozen content first, its columns after);
    `has_pdf` False for one whose PDF is not stored (its picture cannot be shown)."""
    now = utcnow()
    row = as_row(certificate, now)
    content = certificate.content or {}
    issued_on = _iso_day(content.get("issued_on")) or local_date(certificate.issued_at)
    expires_on = _iso_day(content.get("expires_on")) or local_date_or_none(certificate.expires_at)
    return Verification(
        holder_name=row.holder_name,
        title=row.title,
        completed_on_text=row.completed_on_text,
        issued_on_text=row.issued_on_text,
        expires_on_text=dates.day(local_date_or_none(certificate.expires_at)),
        status=row.status,
        revoked_on_text=row.revoked_on_text,
        revoke_reason=row.revoke_reason,
        serial=certificate.serial,
        code=certificate.code,
        id=certificate.id,
        user_id=certificate.user_id,
        issued_on=issued_on,
        expires_on=expires_on,
        provider_name=str(content.get("provider_name") or ""),
        provider_logo=str(content.get("provider_logo") or ""),
        activity_id=str(content.get("activity_id") or ""),
        activity_dates_text=str(content.get("activity_dates_text") or "") or row.completed_on_text,
        location=str(content.get("location") or content.get("format") or ""),
        credits=_credits(content),
        accreditations=_accreditations(content),
        awarded=certificate.credential_id is not None,
        superseded_by_code=superseded_by_code or "",
        has_picture=has_pdf and len(certificate.sha256 or "") == 64,
        picture_height=PICTURE_HEIGHTS.get(str(content.get("page_size") or "A4"), 707),
    )


def _has_pdf() -> Any:
    """SQL: the certificate's PDF is stored (not yet rendered: NULL; erased: empty)."""
    return func.coalesce(func.length(Certificate.pdf), 0) > 0


def _with_newer_code() -> Select:
    """A certificate, the code of the one that superseded it, and whether it has its PDF
    (one query; the PDF's bytes are not read)."""
    newer = aliased(Certificate)
    return select(Certificate, newer.code, _has_pdf()).outerjoin(
        newer, newer.id == Certificate.superseded_by_id
    )


def verify_code(session: Session, typed: str) -> Verification:
    """Look up a typed code (any case, spaces, dashes); NotFound for anything unknown."""
    code = normalise_code(typed)
    found = (
        session.execute(_with_newer_code().where(Certificate.code == code)).first()
        if code
        else None
    )
    if found is None:
        raise NotFound("No certificate has that verification code.")
    return verification_of(found[0], found[1], has_pdf=bool(found[2]))


def verify_upload(session: Session, data: bytes) -> Verification | None:
    """The certificate whose stored PDF has exactly these bytes, or None (altered or foreign).

    The stored bytes are the original ones, so the original file of a revoked certificate is
    still recognised, and answered "revoked".
    """
    if not data:
        raise InvalidInput("Choose a PDF file to check.")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidInput("That file is too large to be one of our certificates.")
    digest = hashlib.sha256(data).hexdigest()
    found = session.execute(
        _with_newer_code().where(Certificate.sha256 == digest).order_by(Certificate.id).limit(1)
    ).first()
    if found is None:
        return None
    return verification_of(found[0], found[1], has_pdf=bool(found[2]))


# ---------------------------------------------------------------------------------------
# Sharing: LinkedIn's "Add to profile"


def linkedin_add_url(result: Verification, certificate_url: str) -> str:
    """LinkedIn's "Add license or certification" form, filled in with this certificate."""
    params: list[tuple[str, str]] = [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", result.title),
        ("organizationName", result.provider_name),
    ]
    if result.issued_on is not None:
        params += [
            ("issueYear", str(result.issued_on.year)),
            ("issueMonth", str(result.issued_on.month)),
        ]
    if result.expires_on is not None:
        params += [
            ("expirationYear", str(result.expires_on.year)),
            ("expirationMonth", str(result.expires_on.month)),
        ]
    params += [("certUrl", certificate_url), ("certId", result.serial)]
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


def share_description(result: Verification) -> str:
    """One sentence for link previews: what, from whom, when, and the credit."""
    parts = [
        f"{result.title}, issued by {result.provider_name}"
        if result.provider_name
        else result.title
    ]
    if result.issued_on_text:
        parts.append(f"on {result.issued_on_text}")
    text = " ".join(parts)
    if result.credits:
        text += ": " + "; ".join(
            " ".join(p for p in (c.amount_text, c.type) if p) for c in result.credits
        )
    return f"{text}. Status: {result.status.label}."


# ---------------------------------------------------------------------------------------
# The picture and the stamped download


@dataclass(frozen=True)
class PictureSource:
    """What drawing a certificate's picture needs, read without the PDF bytes."""

    id: int
    sha256: str
    content: dict[str, Any]
    revoked_on: date | None


def picture_source(session: Session, code: str) -> PictureSource:
    """The certificate with this code, if it has a stored PDF to picture (else NotFound)."""
    canonical = normalise_code(code)
    row = (
        session.execute(
            select(
                Certificate.id, Certificate.sha256, Certificate.content, Certificate.revoked_at
            ).where(Certificate.code == canonical, _has_pdf())
        ).first()
        if canonical
        else None
    )
    if row is None or len(row.sha256 or "") != 64:
        raise NotFound("No such certificate picture.")
    return PictureSource(
        row.id, row.sha256, row.content or {}, local_date_or_none(row.revoked_at, session)
    )


def certificate_picture(session: Session, store: Storage, source: PictureSource) -> bytes:
    """The picture (JPEG): kept already, or drawn now from the stored PDF and kept."""
    kept = pictures.stored_picture(store, source.sha256, source.revoked_on)
    if kept is not None:
        return kept
    pdf = session.scalar(select(Certificate.pdf).where(Certificate.id == source.id))
    if not pdf:
        raise NotFound("No such certificate picture.")
    picture = pictures.keep_picture(
        store,
        pdf,
        source.sha256,
        source.content,
        revoked_on=source.revoked_on,
        revoked_on_text=format_date(source.revoked_on),
    )
    if picture is None:
        raise NotFound("No such certificate picture.")
    return picture


def picture_etag(source: PictureSource) -> str:
    """The picture's validator: it changes when the certificate is revoked."""
    return pictures.picture_key(source.sha256, source.revoked_on).split(".", 1)[0]


def download_bytes(certificate: Certificate) -> bytes:
    """What a download serves: the stored PDF, stamped "REVOKED on <date>" on every page when
    the certificate was revoked (the stored bytes are never changed)."""
    assert certificate.pdf is not None
    if certificate.revoked_at is None:
        return certificate.pdf
    revoked_on = format_date(local_date(certificate.revoked_at))
    return pictures.stamped_pdf(certificate.pdf, pictures.stamp_text(revoked_on))


def missing_picture_ids(session: Session) -> list[int]:
    """Every certificate with a stored PDF, oldest first (the backfill checks each)."""
    return list(
        session.scalars(
            select(Certificate.id)
            .where(Certificate.rendered_at.is_not(None))
            .order_by(Certificate.id)
        )
    )


def backfill_pictures(session: Session, store: Storage, ids: list[int]) -> int:
    """Draw and keep the picture of each certificate that has none yet, and remove its
    pictures in older formats (PNGs before 7 Dec 2026); how many were drawn."""
    drawn = 0
    for certificate_id in ids:
        certificate = session.scalar(
            select(Certificate)
            .where(Certificate.id == certificate_id)
            .options(undefer(Certificate.pdf))
        )
        if certificate is None or not certificate.pdf or len(certificate.sha256 or "") != 64:
            continue
        revoked_on = local_date_or_none(certificate.revoked_at, session)
        for legacy in pictures.legacy_keys(certificate.sha256, revoked_on):
            pictures.discard_picture(store, legacy)
        if pictures.stored_picture(store, certificate.sha256, revoked_on) is not None:
            continue
        made = pictures.keep_picture(
            store,
            certificate.pdf,
            certificate.sha256,
            certificate.content or {},
            revoked_on=revoked_on,
            revoked_on_text=format_date(revoked_on),
        )
        drawn += made is not None
        session.expunge(certificate)
    return drawn


__all__ = [
    "Accreditation",
    "Credit",
    "PictureSource",
    "Verification",
    "backfill_pictures",
    "certificate_picture",
    "download_bytes",
    "linkedin_add_url",
    "missing_picture_ids",
    "picture_etag",
    "picture_source",
    "share_description",
    "verification_of",
    "verify_code",
    "verify_upload",
]

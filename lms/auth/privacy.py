"""Privacy requests: a person's data export, their deletion request, and carrying it out."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload, undefer

from lms.audit.services import record_event
from lms.auth.models import Role, User, new_auth_token
from lms.catalog.models import ProgrammeSetting
from lms.certificates.models import Certificate
from lms.db import db, utcnow
from lms.equivalency.models import EquivalencyRequest
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.mail.models import Notification, OutboxMessage
from lms.progress.models import Completion
from lms.retreats.models import Application, Screening

DEFAULT_RETENTION_YEARS = 6
SCREENING_NOTE = (
    "Medical-screening answers are health data and are never included in an export. "
    "Each application lists its status only."
)


def _iso(value: Any) -> Any:
    """Dates and times as ISO text, everything else unchanged."""
    return value.isoformat() if hasattr(value, "isoformat") else value


# --------------------------------------------------------------------------- export


def export_personal_data(session: Session, user: User) -> bytes:
    """A zip with data.json (everything held about the person) and their certificate PDFs.

    Screening answers stay out (health data never leaves in an export); the JSON says so.
    Five queries whatever the volume.
    """
    completions = session.scalars(
        select(Completion)
        .options(selectinload(Completion.item))
        .where(Completion.user_id == user.id)
        .order_by(Completion.completed_on, Completion.id)
    ).all()
    requests = session.scalars(
        select(EquivalencyRequest)
        .options(selectinload(EquivalencyRequest.item))
        .where(EquivalencyRequest.user_id == user.id)
        .order_by(EquivalencyRequest.id)
    ).all()
    applications = session.scalars(
        select(Application)
        .options(selectinload(Application.session))
        .where(Application.user_id == user.id)
        .order_by(Application.id)
    ).all()
    certificates = session.scalars(
        select(Certificate)
        .options(undefer(Certificate.pdf))
        .where(Certificate.user_id == user.id)
        .order_by(Certificate.id)
    ).all()
    notices = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    data = {
        "exported_at": utcnow().isoformat(),
        "profile": {
            "id": user.id,
            "email": user.email,
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "name": user.name,
            "credentials": user.credentials,
            "roles": sorted(r.value for r in user.roles),
            "pre_licensed": user.pre_licensed,
            "licence_type": user.licence_type,
            "licence_number": user.licence_number,
            "licence_state": user.licence_state,
            "licence_expires_on": _iso(user.licence_expires_on),
            "licence_verified_at": _iso(user.licence_verified_at),
            "notify_optional": user.notify_optional,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "deletion_requested_at": _iso(user.deletion_requested_at),
        },
        "completions": [
            {
                "item": c.item.code,
                "title": c.item.title,
                "completed_on": _iso(c.completed_on),
                "source": c.source.value,
                "recorded_at": _iso(c.recorded_at),
                "note": c.note,
                "revoked_at": _iso(c.revoked_at),
                "revoke_reason": c.revoke_reason,
            }
            for c in completions
        ],
        "equivalency_requests": [
            {
                "item": r.item.code,
                "outside_programme": r.outside_programme,
                "attended_from": _iso(r.attended_from),
                "attended_to": _iso(r.attended_to),
                "hours": str(r.hours) if r.hours is not None else None,
                "description": r.description,
                "evidence_file_name": r.evidence_name,
                "status": r.status.value,
                "created_at": _iso(r.created_at),
                "decided_at": _iso(r.decided_at),
                "decision_reason": r.decision_reason,
            }
            for r in requests
        ],
        "retreat_applications": {
            "note": SCREENING_NOTE,
            "applications": [
                {
                    "retreat_session_id": a.session_id,
                    "starts_on": _iso(a.session.starts_on),
                    "ends_on": _iso(a.session.ends_on),
                    "location": a.session.location,
                    "status": a.status.value,
                    "applied_at": _iso(a.applied_at),
                    "decided_at": _iso(a.decided_at),
                    "withdrawn_at": _iso(a.withdrawn_at),
                }
                for a in applications
            ],
        },
        "certificates": [
            {
                "serial": c.serial,
                "verification_code": c.code,
                "issued_at": _iso(c.issued_at),
                "expires_at": _iso(c.expires_at),
                "revoked_at": _iso(c.revoked_at),
                "revoke_reason": c.revoke_reason,
                "superseded": c.superseded_by_id is not None,
                "content": c.content,
                "pdf_file": f"certificates/{c.serial}.pdf" if c.pdf else None,
                "sha256": c.sha256,
            }
            for c in certificates
        ],
        "notices": [
            {"message": n.message, "created_at": _iso(n.created_at), "read_at": _iso(n.read_at)}
            for n in notices
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for certificate in certificates:
            if certificate.pdf:
                archive.writestr(f"certificates/{certificate.serial}.pdf", certificate.pdf)
    record_event(
        session,
        actor_id=user.id,
        action="user.data_exported",
        subject_type="user",
        subject_id=user.id,
        person_id=user.id,
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------- deletion


def request_deletion(session: Session, user: User, *, now: datetime | None = None) -> None:
    """Record the person's request that their personal data be deleted."""
    if user.deletion_requested_at is not None:
        raise Conflict("You have already asked for deletion; an administrator will carry it out.")
    user.deletion_requested_at = now or utcnow()
    record_event(
        session,
        actor_id=user.id,
        action="user.deletion_requested",
        subject_type="user",
        subject_id=user.id,
        person_id=user.id,
    )
    session.flush()


@dataclass(frozen=True)
class DeletionRequest:
    """One line of the admin's deletion list."""

    id: int
    name: str
    email: str
    requested_at: datetime
    anonymised_at: datetime | None


def deletion_requests(session: Session) -> list[DeletionRequest]:
    """Open requests first (oldest first), then ones carried out; one query."""
    rows = session.execute(
        select(User.id, User.name, User.email, User.deletion_requested_at, User.anonymised_at)
        .where(User.deletion_requested_at.is_not(None))
        .order_by(User.anonymised_at.is_not(None), User.deletion_requested_at, User.id)
        .limit(500)
    )
    return [DeletionRequest(*row) for row in rows]


def retention_years(session: Session) -> int:
    """How long anonymised certificate and audit records are kept (catalogue setting)."""
    setting = session.get(ProgrammeSetting, "retention_years")
    value = setting.value if setting is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return DEFAULT_RETENTION_YEARS


def _scrub(value: Any, secrets_: set[str], replacement: str) -> Any:
    """Replace every string in a JSON value that is one of the person's identifying strings."""
    if isinstance(value, dict):
        return {k: _scrub(v, secrets_, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets_, replacement) for v in value]
    if isinstance(value, str) and value.strip() and value.strip() in secrets_:
        return replacement
    return value


def carry_out_deletion(
    session: Session,
    user_id: int,
    *,
    actor: User,
    evidence_dir: str | Path,
    now: datetime | None = None,
) -> User:
    """Remove a person's personal data; keep anonymised issue and audit records.

    Kept: completions, application statuses, certificate issue records (their frozen text
    scrubbed of the name and licence, their PDF bytes dropped, their SHA-256 kept so a PDF
    the person presents can still be checked) and audit events, for the retention period.
    Removed: name, e-mail, licence, password, sessions, screening answers, evidence files,
    notices and queued mail.
    """
    now = now or utcnow()
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only an administrator can carry out a deletion.")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    if user.anonymised_at is not None:
        raise AlreadyDecided("This person's data has already been deleted.")
    if user.deletion_requested_at is None:
        raise InvalidInput("This person has not asked for deletion.")
    if user.id == actor.id:
        raise Forbidden("Ask another administrator to carry out your own deletion.")
    if Role.ADMIN in user.roles:
        raise Conflict("Remove the administrator role first, then carry out the deletion.")

    placeholder = f"Deleted user #{user.id}"
    identifying = {
        s.strip()
        for s in (user.name, user.display_name, user.email, user.licence_number)
        if s and s.strip()
    }
    old_email = user.email

    # Health data: the answers go, the decision (application status) stays.
    session.execute(
        update(Screening)
        .where(
            Screening.purged_at.is_(None),
            Screening.application_id.in_(
                select(Application.id).where(Application.user_id == user.id)
            ),
        )
        .values(answers_encrypted=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )

    # Evidence files are removed from disk only once the deletion has committed.
    requests = session.scalars(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == user.id)
    ).all()
    keys = [r.evidence_key for r in requests if r.evidence_key]
    for request in requests:
        request.evidence_key = None
        request.evidence_name = None
        request.evidence_type = None
        request.evidence_size = None
        request.description = ""
    if keys:
        db.after_commit(lambda: _remove_evidence(evidence_dir, keys))

    certificates = session.scalars(
        select(Certificate).options(undefer(Certificate.pdf)).where(Certificate.user_id == user.id)
    ).all()
    for certificate in certificates:
        certificate.content = _scrub(dict(certificate.content), identifying, placeholder)
        certificate.pdf = b""

    session.execute(delete(Notification).where(Notification.user_id == user.id))
    session.execute(
        delete(OutboxMessage).where(
            or_(OutboxMessage.user_id == user.id, OutboxMessage.to_address == old_email)
        )
    )

    user.name = placeholder
    user.email = f"deleted-{user.id}@invalid"
    user.credentials = ""
    user.password_hash = None
    user.auth_token = new_auth_token()
    user.active = False
    user.pre_licensed = True
    user.licence_type = user.licence_number = user.licence_state = None
    user.licence_expires_on = None
    user.licence_verified_at = None
    user.licence_verified_by_id = None
    user.email_confirmed_at = None
    user.notify_optional = False
    user.last_login_at = None
    user.anonymised_at = now
    session.flush()
    years = retention_years(session)
    record_event(
        session,
        actor_id=actor.id,
        action="user.anonymised",
        subject_type="user",
        subject_id=user.id,
        person_id=user.id,
        certificates_kept=len(certificates),
        evidence_files_removed=len(keys),
        retain_records_until=(now + timedelta(days=365 * years)).date(),
    )
    return user


def _remove_evidence(evidence_dir: str | Path, keys: list[str]) -> None:
    """Delete stored evidence files (after commit); a file already gone is fine."""
    from lms.equivalency.evidence import discard_evidence

    for key in keys:
        discard_evidence(evidence_dir, key)

"""Privacy requests: a person's data export, their deletion request, and carrying it out.

This module owns the account's part and the procedure; each feature that holds data about a
person contributes its part through a `HOOKS` (a PrivacyHooks) in its own `privacy` module,
listed in `lms.features.PRIVACY_MODULES`. So auth imports no other feature's models, and a new
feature's data is in the export, and erased, as soon as it registers its hooks.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from importlib import import_module
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lms import signals
from lms.auth.models import EmailChange, Role, User, new_auth_token
from lms.auth.services import record_account_event
from lms.clock import local_date
from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.programme import programme_setting
from lms.storage import FileStores

DEFAULT_RETENTION_YEARS = 6
RETENTION_SETTING = "retention_years"


def iso(value: Any) -> Any:
    """Dates and times as ISO text, everything else unchanged."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def plain(value: Any) -> Any:
    """A value as an export holds it: an enum by its value, dates and times as ISO text."""
    return value.value if isinstance(value, Enum) else iso(value)


def select_section(fields: Mapping[str, Any]) -> Select:
    """A SELECT of an export section's fields: each column labelled with its key."""
    return select(*(column.label(key) for key, column in fields.items()))


def records(session: Session, query: Select) -> list[dict[str, Any]]:
    """The rows of a `select_section` query as the section's records, in the query's order:
    each field under its key, its value made `plain`."""
    return [
        {key: plain(value) for key, value in row.items()}
        for row in session.execute(query).mappings()
    ]


@dataclass
class Export:
    """One feature's part of an export: its JSON section and any files for the archive."""

    data: Any
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Erasure:
    """What a feature's erase hook works from, inside the deletion's unit of work."""

    person: User
    identifying: frozenset[str]  # the person's name, e-mail, licence number...
    placeholder: str  # what replaces them where a record is kept
    old_email: str
    now: datetime
    files: FileStores  # the app's stores of uploaded files (lms.storage)
    facts: dict[str, Any] = field(default_factory=dict)  # counts for the audit event

    def scrub(self, value: Any) -> Any:
        """A JSON value with each of the person's identifying strings replaced."""
        return _scrub(value, self.identifying, self.placeholder)


@dataclass(frozen=True)
class PrivacyHooks:
    """A feature's part of privacy requests: its export section and how it erases."""

    key: str  # the section's name in data.json
    export: Callable[[Session, User], Export]
    erase: Callable[[Session, Erasure], None] | None = None  # None: its records are kept


def registered_hooks() -> list[PrivacyHooks]:
    """Every feature's hooks, in the registry's order (the export's section order)."""
    from lms.features import PRIVACY_MODULES

    return [import_module(name).HOOKS for name in PRIVACY_MODULES]


# --------------------------------------------------------------------------- export


def _profile(user: User) -> dict[str, Any]:
    """The account's own fields."""
    return {
        "id": user.id,
        "email": user.email,
        "email_confirmed_at": iso(user.email_confirmed_at),
        "name": user.name,
        "credentials": user.credentials,
        "roles": sorted(r.value for r in user.roles),
        "pre_licensed": user.pre_licensed,
        "licence_type": user.licence_type,
        "licence_number": user.licence_number,
        "licence_state": user.licence_state,
        "licence_expires_on": iso(user.licence_expires_on),
        "licence_verified_at": iso(user.licence_verified_at),
        "notify_optional": user.notify_optional,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
        "deletion_requested_at": iso(user.deletion_requested_at),
    }


def export_personal_data(session: Session, user: User) -> bytes:
    """A zip with data.json (everything held about the person) and their certificate PDFs.

    Screening answers stay out (health data never leaves in an export); the JSON says so.
    A constant number of queries whatever the volume (each feature's hook reads in bulk).
    """
    data: dict[str, Any] = {"exported_at": utcnow().isoformat(), "profile": _profile(user)}
    if (change := session.get(EmailChange, user.id)) is not None:
        data["profile"]["email_change_waiting"] = {
            "new_email": change.new_email,
            "requested_at": iso(change.requested_at),
        }
    files: dict[str, bytes] = {}
    for hooks in registered_hooks():
        part = hooks.export(session, user)
        data[hooks.key] = part.data
        files.update(part.files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, content in files.items():
            archive.writestr(name, content)
    record_account_event(session, user, "user.data_exported")
    return buffer.getvalue()


# --------------------------------------------------------------------------- deletion


def request_deletion(session: Session, user: User, *, now: datetime | None = None) -> None:
    """Record the person's request that their personal data be deleted."""
    if user.deletion_requested_at is not None:
        raise Conflict("You have already asked for deletion; an administrator will carry it out.")
    user.deletion_requested_at = now or utcnow()
    record_account_event(session, user, "user.deletion_requested")
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
    value = programme_setting(session, RETENTION_SETTING)
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
    files: FileStores,
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
    change = session.get(EmailChange, user.id)
    identifying = {
        s.strip()
        for s in (
            user.name,
            user.display_name,
            user.email,
            user.licence_number,
            change.new_email if change else None,
        )
        if s and s.strip()
    }
    old_email = user.email

    erasure = Erasure(
        person=user,
        identifying=frozenset(identifying),
        placeholder=placeholder,
        old_email=old_email,
        now=now,
        files=files,
    )
    for hooks in registered_hooks():
        if hooks.erase is not None:
            hooks.erase(session, erasure)

    if change is not None:
        session.delete(change)
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
    signals.account_changed.send(user, session=session)
    years = retention_years(session)
    record_account_event(
        session,
        user,
        "user.anonymised",
        actor_id=actor.id,
        **erasure.facts,
        retain_records_until=local_date(now + timedelta(days=365 * years), session),
    )
    return user

"""The approved consultants the admin keeps: add, correct, take off the list. Clinicians log
consultations only with consultants on the list on the day they log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.audit.services import record_event
from lms.auth.api import normalise_email
from lms.clock import today
from lms.db import row_or_not_found
from lms.errors import AlreadyDecided, Conflict, InvalidInput
from lms.training.models import Consultant

NAME_MAX = 200
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ConsultantInput:
    """What the admin types for a consultant."""

    name: str
    credentials: str
    email: str
    approved_on: date


def _checked(data: ConsultantInput) -> ConsultantInput:
    """The input trimmed, or InvalidInput saying what is wrong."""
    name, credentials = data.name.strip(), data.credentials.strip()
    email = normalise_email(data.email)
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"Give the consultant's name (at most {NAME_MAX} characters).")
    if len(credentials) > NAME_MAX:
        raise InvalidInput(f"Credentials may be at most {NAME_MAX} characters.")
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        raise InvalidInput("Give the consultant's e-mail address, like name@example.org.")
    return ConsultantInput(name, credentials, email, data.approved_on)


def _email_taken(session: Session, email: str, other_than: int | None = None) -> bool:
    """Whether another consultant already has this address."""
    query = select(Consultant.id).where(Consultant.email == email)
    if other_than is not None:
        query = query.where(Consultant.id != other_than)
    return session.scalar(query) is not None


def _record(
    session: Session, consultant: Consultant, action: str, *, actor_id: int, **facts: Any
) -> None:
    """Audit a change to the approved list: the consultant is the subject (no person: a
    consultant need not have an account)."""
    record_event(
        session,
        actor_id=actor_id,
        action=action,
        subject_type="training_consultant",
        subject_id=consultant.id,
        **facts,
    )


def add_consultant(session: Session, data: ConsultantInput, *, actor_id: int) -> Consultant:
    """Put a consultant on the approved list (audited)."""
    data = _checked(data)
    if _email_taken(session, data.email):
        raise Conflict(f"A consultant with the address {data.email} is already on the list.")
    consultant = Consultant(
        name=data.name, credentials=data.credentials, email=data.email, approved_on=data.approved_on
    )
    session.add(consultant)
    session.flush()
    _record(
        session, consultant, "consultant.added", actor_id=actor_id, approved_on=data.approved_on
    )
    return consultant


def edit_consultant(
    session: Session, consultant_id: int, data: ConsultantInput, *, actor_id: int
) -> Consultant:
    """Correct a consultant's name, credentials, address or approval date (audited)."""
    consultant = row_or_not_found(session, Consultant, consultant_id, missing="No such consultant.")
    data = _checked(data)
    if _email_taken(session, data.email, other_than=consultant.id):
        raise Conflict(f"A consultant with the address {data.email} is already on the list.")
    if consultant.retired_on is not None and data.approved_on > consultant.retired_on:
        raise InvalidInput("The approval date must come before the day the consultant retired.")
    changed = [
        name
        for name, value in (
            ("name", data.name),
            ("credentials", data.credentials),
            ("email", data.email),
            ("approved_on", data.approved_on),
        )
        if getattr(consultant, name) != value
    ]
    consultant.name, consultant.credentials = data.name, data.credentials
    consultant.email, consultant.approved_on = data.email, data.approved_on
    _record(session, consultant, "consultant.edited", actor_id=actor_id, changed=changed)
    return consultant


def retire_consultant(session: Session, consultant_id: int, *, actor_id: int) -> Consultant:
    """Take a consultant off the approved list from today (their past entries keep counting)."""
    consultant = row_or_not_found(session, Consultant, consultant_id, missing="No such consultant.")
    if consultant.retired_on is not None:
        raise AlreadyDecided(f"{consultant.name} is already off the approved list.")
    on = max(today(session), consultant.approved_on)
    consultant.retired_on = on
    _record(session, consultant, "consultant.retired", actor_id=actor_id, retired_on=on)
    return consultant


def consultants(session: Session) -> list[Consultant]:
    """Every consultant, approved ones first, by name."""
    return list(
        session.scalars(
            select(Consultant).order_by(Consultant.retired_on.is_not(None), Consultant.name)
        )
    )


def approved_consultants(session: Session) -> list[Consultant]:
    """The consultants on the approved list today: those a clinician may pick."""
    on = today(session)
    return [c for c in consultants(session) if c.retired_on is None or on < c.retired_on]

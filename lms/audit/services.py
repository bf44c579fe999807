"""Writing audit events; the one way any feature records who changed what."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from lms.audit.models import AuditEvent


def record_event(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    person_id: int | None = None,
    **facts: Any,
) -> AuditEvent:
    """Append an audit event. Never pass health data in facts."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        person_id=person_id,
        facts={k: _plain(v) for k, v in facts.items()},
    )
    session.add(event)
    return event


class PersonsRecord(Protocol):
    """A row that belongs to one person: its id and its owner's user id."""

    id: int
    user_id: int


def record_event_of(
    session: Session,
    subject_type: str,
    record: PersonsRecord,
    action: str,
    *,
    actor_id: int | None,
    **facts: Any,
) -> AuditEvent:
    """Append an audit event about one person's record: the record is the subject, its owner
    the person. Returns the event (not yet flushed)."""
    return record_event(
        session,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=record.id,
        person_id=record.user_id,
        **facts,
    )


def _plain(value: Any) -> Any:
    """Turn dates, decimals and enums into JSON-friendly values."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

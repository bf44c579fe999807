"""One shape for taking a record back: who, when and why, and the audit line that says so.

Completions and certificates are revoked, never deleted: the record keeps `revoked_at`,
`revoked_by_id` and `revoke_reason` (bounded, required), and the audit log gets one event
with the reason. Both features revoke through `revoke`, so the two can never differ in what
a revocation is.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from lms import dates, validation
from lms.audit.services import PersonsRecord, record_event_of
from lms.clock import local_date, utcnow
from lms.errors import AlreadyDecided, InvalidInput

REASON_MAX = 500  # the revoke_reason columns' length


class Revocable(PersonsRecord, Protocol):
    """A record of one person that can be revoked (a completion, a certificate)."""

    revoked_at: Any
    revoked_by_id: int | None
    revoke_reason: str | None


def clean_reason(reason: str | None, what: str) -> str:
    """A required revocation reason of at most REASON_MAX characters (line breaks allowed)."""
    reason = validation.multi_line((reason or "").strip(), "Reason")
    if not reason:
        raise InvalidInput(f"Give a reason for revoking the {what}.")
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            f"The reason is too long ({len(reason)} characters; {REASON_MAX} at most)."
        )
    return reason


def revoke(
    session: Session,
    record: Revocable,
    *,
    actor_id: int | None,
    reason: str,
    action: str,
    named: str,
    **facts: Any,
) -> None:
    """Revoke a row-locked record: refuse a second revocation (naming the day of the first),
    stamp who, when and why, flush, and audit `action` with the reason and the facts (the
    record's owner is the event's person).

    `named` is how the refusal names the record ("This completion", "Certificate KAP-…").
    """
    if record.revoked_at is not None:
        revoked_on = local_date(record.revoked_at, session)
        raise AlreadyDecided(f"{named} was already revoked on {dates.day(revoked_on)}.")
    record.revoked_at = utcnow()
    record.revoked_by_id = actor_id
    record.revoke_reason = reason
    session.flush()
    noun = action.split(".", 1)[0]
    record_event_of(session, noun, record, action, actor_id=actor_id, reason=reason, **facts)

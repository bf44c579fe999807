"""The award: staff award the Certificate of Training to a candidate who meets the requirement
today, once, audited; it issues the programme's own certificate (lms.certificates), which the
holder is told of, the transcript lists and the public verify page states. Revoking that
certificate revokes the award: the candidate shows up as not awarded again (audited) and
leaves the public directory.

The requirement is judged by lms.training.requirement.requirements_of, the one evaluation
every page reads, so the award page, the award and the candidate's own page never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lms import signals
from lms.auth.api import User
from lms.certificates.api import Certificate
from lms.certificates.services import (
    AwardFacts,
    current_award_certificate,
    record_award_certificate,
)
from lms.clock import today
from lms.db import row_or_not_found, utcnow
from lms.errors import AlreadyDecided, Forbidden, PrerequisiteNotMet
from lms.training.models import Candidate, Credential, DirectoryListing
from lms.training.requirement import (
    Requirements,
    ensure_credential,
    record_credential_event,
    requirements_of,
    start_candidate,
    stored_credential,
)
from lms.training.standing import mark_changed


@dataclass(frozen=True)
class AwardState:
    """What the award page shows of a person: the requirement judged today, and the award
    when there is one (when, by whom, its certificate)."""

    person: User
    requirements: Requirements
    awarded_at: datetime | None
    awarded_by: str
    certificate: Certificate | None

    @property
    def awarded(self) -> bool:
        """The person holds the credential (awarded, not revoked)."""
        return self.awarded_at is not None


def _candidate(session: Session, user_id: int, credential: Credential) -> Candidate | None:
    """The person's candidate row, read fresh and locked (two staff cannot both award)."""
    return session.scalar(
        select(Candidate)
        .where(Candidate.user_id == user_id, Candidate.credential_id == credential.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def award_state(session: Session, user_id: int) -> AwardState:
    """The award page's facts about a person (NotFound when there is no such person)."""
    person = row_or_not_found(session, User, user_id, missing="No such person.")
    credential = stored_credential(session)  # a page never writes: no credential, no award
    candidate = session.get(Candidate, (person.id, credential.id)) if credential else None
    awarded_at = candidate.awarded_at if candidate is not None else None
    awarded_by = ""
    if candidate is not None and candidate.awarded_by_id is not None:
        staff = session.get(User, candidate.awarded_by_id)
        awarded_by = staff.name if staff is not None else ""
    return AwardState(
        person=person,
        requirements=requirements_of(session, person),
        awarded_at=awarded_at,
        awarded_by=awarded_by,
        certificate=current_award_certificate(session, person.id, credential.id)
        if credential is not None and awarded_at is not None
        else None,
    )


def award_credential(session: Session, user_id: int, *, actor: User) -> Certificate:
    """Award the Certificate of Training: refused unless the requirement is met today
    (PrerequisiteNotMet, with what is missing), refused when already awarded, never to
    oneself. Starts the candidate row when missing; audited; issues the certificate (its PDF
    and the holder's notice and mail follow after commit)."""
    person = row_or_not_found(session, User, user_id, missing="No such person.")
    if person.id == actor.id:
        raise Forbidden("You cannot award the Certificate of Training to yourself.")
    if not person.active or person.anonymised_at is not None:
        raise PrerequisiteNotMet(
            f"Not awarded: {person.name}'s account is deactivated or deleted; reactivate it first."
        )
    credential = ensure_credential(session)
    candidate = _candidate(session, person.id, credential) or start_candidate(
        session, person.id, credential
    )
    if candidate.awarded_at is not None:
        raise AlreadyDecided(f"{person.name} was already awarded the {credential.title}.")
    session.flush()  # the candidate row (and the version it holds them to) is read below
    requirements = requirements_of(session, person)
    if not requirements.met:
        missing = " ".join(line.missing for line in requirements.lines if not line.met)
        raise PrerequisiteNotMet(f"Not awarded: {person.name} does not meet it yet. {missing}")
    candidate.awarded_at = utcnow()
    candidate.awarded_by_id = actor.id
    mark_changed(session, [person.id])  # an awarded candidate leaves the staff's queues
    # A new award starts unlisted: a listing left by a race with an earlier revocation goes.
    session.execute(
        delete(DirectoryListing)
        .where(DirectoryListing.user_id == person.id)
        .execution_options(synchronize_session="fetch")
    )
    certificate = record_award_certificate(
        session,
        person,
        AwardFacts(
            credential_id=credential.id,
            code=credential.code,
            title=credential.title,
            attests=tuple(line.asks for line in requirements.lines),
        ),
        awarded_on=today(session),
        actor_id=actor.id,
    )
    record_credential_event(
        session,
        credential.id,
        "credential.awarded",
        actor_id=actor.id,
        person_id=person.id,
        version=requirements.version,
        serial=certificate.serial,
    )
    return certificate


def on_certificate_revoked(certificate: Any, *, session: Session, **_: Any) -> None:
    """An award certificate was revoked: the award goes with it (the candidate is not awarded
    again, audited) and the person leaves the public directory at once."""
    credential_id = getattr(certificate, "credential_id", None)
    if credential_id is None or certificate.user_id is None:
        return
    cleared = session.execute(
        update(Candidate)
        .where(
            Candidate.user_id == certificate.user_id,
            Candidate.credential_id == credential_id,
            Candidate.awarded_at.is_not(None),
        )
        .values(awarded_at=None, awarded_by_id=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if cleared:
        mark_changed(session, [certificate.user_id])  # back in the queues
    session.execute(
        delete(DirectoryListing)
        .where(DirectoryListing.user_id == certificate.user_id)
        .execution_options(synchronize_session="fetch")
    )
    if cleared:
        record_credential_event(
            session,
            credential_id,
            "credential.award_revoked",
            actor_id=certificate.revoked_by_id,
            person_id=certificate.user_id,
            serial=certificate.serial,
        )


def subscribe() -> None:
    """Connect the receiver (strong reference; connecting twice changes nothing)."""
    signals.certificate_revoked.connect(on_certificate_revoked, weak=False)

"""The consultation log's part of a person's privacy requests: their consultations and the
requirement version they are held to."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.training.models import Candidate, Consultation


def export(session: Session, user: User) -> Export:
    """Every consultation the person logged, with its consultant and what became of it."""
    entries = session.scalars(
        select(Consultation)
        .options(joinedload(Consultation.consultant))
        .where(Consultation.user_id == user.id)
        .order_by(Consultation.id)
    ).all()
    held = session.scalars(
        select(Candidate).options(joinedload(Candidate.version)).where(Candidate.user_id == user.id)
    ).all()
    return Export(
        {
            "consultations": [
                {
                    "held_on": iso(e.held_on),
                    "consultant": e.consultant.label,
                    "kind": e.kind.label,
                    "hours": str(e.hours),
                    "topic": e.topic,
                    "consultant_was_approved": e.consultant_was_approved,
                    "state": e.state.label,
                    "logged_at": iso(e.created_at),
                    "answered_at": iso(e.decided_at),
                    "consultant_comment": e.comment,
                    "voided_at": iso(e.voided_at),
                    "void_reason": e.void_reason,
                }
                for e in entries
            ],
            "requirement_versions": [
                {"version": c.version.number, "started_at": iso(c.started_at)} for c in held
            ],
        }
    )


def erase(session: Session, erasure: Erasure) -> None:
    """The entries' dates, hours and states stay (the programme's record of consultant
    hours); the free text about them goes."""
    session.execute(
        update(Consultation)
        .where(Consultation.user_id == erasure.person.id)
        .values(topic="", comment="", void_reason="")
        .execution_options(synchronize_session=False)
    )


HOOKS = PrivacyHooks("consultations", export, erase)

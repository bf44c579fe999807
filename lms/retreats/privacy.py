"""Retreats' part of a person's privacy requests: applications, never screening answers, nor
the medical reviewers' notes, questions and the answers to them (health data, all of them)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, records
from lms.catalog.api import CatalogItem, ItemKind
from lms.offerings.api import Enrolment, Offering, offering_section
from lms.retreats.models import Screening
from lms.retreats.review_thread import erase_review_texts

SCREENING_NOTE = (
    "Medical-screening answers, the medical reviewers' notes, and their questions to you with "
    "your answers are health data and are never included in an export. "
    "Each application lists its status only."
)


# What the export holds of each application: its keys and the columns they come from.
APPLICATION_FIELDS = {
    "retreat_session_id": Enrolment.offering_id,
    "starts_on": Offering.starts_on,
    "ends_on": Offering.ends_on,
    "location": Offering.location,
    "status": Enrolment.status,
    "applied_at": Enrolment.applied_at,
    "decided_at": Enrolment.decided_at,
    "withdrawn_at": Enrolment.withdrawn_at,
}


def export(session: Session, user: User) -> Export:
    """Each application's session and status; the screening answers stay out (health data)."""
    applications = (
        offering_section(APPLICATION_FIELDS, Enrolment.offering_id)
        .where(Enrolment.user_id == user.id, CatalogItem.kind == ItemKind.RETREAT)
        .order_by(Enrolment.id)
    )
    return Export({"note": SCREENING_NOTE, "applications": records(session, applications)})


def erase(session: Session, erasure: Erasure) -> None:
    """Health data: the answers, notes, questions and answers go; the decision (the
    application's status) stays."""
    theirs = select(Enrolment.id).where(Enrolment.user_id == erasure.person.id)
    session.execute(
        update(Screening)
        .where(Screening.purged_at.is_(None), Screening.enrolment_id.in_(theirs))
        .values(answers_encrypted=None, purged_at=erasure.now)
        .execution_options(synchronize_session=False)
    )
    erase_review_texts(session, theirs, erasure.now)


HOOKS = PrivacyHooks("retreat_applications", export, erase)

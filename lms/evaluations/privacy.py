"""Evaluations' part of a person's privacy requests: which offerings they evaluated, no answers."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, records, select_section
from lms.catalog.api import CatalogItem
from lms.evaluations.models import EvaluationReminder, EvaluationSubmission
from lms.offerings.api import Offering, offering_section

ANSWERS_NOTE = (
    "Evaluation answers are kept without any name, date or link to the person who gave them, "
    "so they cannot be found again for an export; this lists which offerings you evaluated."
)


# What each section of the export holds: its keys and the columns they come from.
EVALUATED_FIELDS = {
    "offering_id": EvaluationSubmission.offering_id,
    "item": CatalogItem.code,
    "title": CatalogItem.title,
    "starts_on": Offering.starts_on,
    "ends_on": Offering.ends_on,
    "submitted_at": EvaluationSubmission.submitted_at,
}
REMINDER_FIELDS = {
    "offering_id": EvaluationReminder.offering_id,
    "sent_at": EvaluationReminder.sent_at,
}


def export(session: Session, user: User) -> Export:
    """The offerings the person evaluated and the reminders they were sent (two queries)."""
    evaluated = (
        offering_section(EVALUATED_FIELDS, EvaluationSubmission.offering_id)
        .where(EvaluationSubmission.user_id == user.id)
        .order_by(EvaluationSubmission.submitted_at, EvaluationSubmission.id)
    )
    reminders = (
        select_section(REMINDER_FIELDS)
        .where(EvaluationReminder.user_id == user.id)
        .order_by(EvaluationReminder.sent_at)
    )
    return Export(
        {
            "note": ANSWERS_NOTE,
            "evaluated": records(session, evaluated),
            "reminders_sent": records(session, reminders),
        }
    )


def erase(session: Session, erasure: Erasure) -> None:
    """The trace of who evaluated what goes; the anonymous answers stay (no one's to erase)."""
    person = erasure.person.id
    gone = session.execute(
        delete(EvaluationSubmission)
        .where(EvaluationSubmission.user_id == person)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(EvaluationReminder)
        .where(EvaluationReminder.user_id == person)
        .execution_options(synchronize_session=False)
    )
    erasure.facts["evaluation_submissions_deleted"] = gone.rowcount or 0


HOOKS = PrivacyHooks("evaluations", export, erase)

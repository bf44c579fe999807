"""Evaluations' part of a person's privacy requests: which offerings they evaluated, no answers."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.auth.privacy import Erasure, Export, PrivacyHooks, iso
from lms.catalog.models import CatalogItem
from lms.evaluations.models import EvaluationReminder, EvaluationSubmission
from lms.offerings.models import Offering

ANSWERS_NOTE = (
    "Evaluation answers are kept without any name, date or link to the person who gave them, "
    "so they cannot be found again for an export; this lists which offerings you evaluated."
)


def export(session: Session, user: User) -> Export:
    """The offerings the person evaluated and the reminders they were sent (two queries)."""
    evaluated = session.execute(
        select(
            EvaluationSubmission.offering_id,
            EvaluationSubmission.submitted_at,
            CatalogItem.code,
            CatalogItem.title,
            Offering.starts_on,
            Offering.ends_on,
        )
        .join(Offering, Offering.id == EvaluationSubmission.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(EvaluationSubmission.user_id == user.id)
        .order_by(EvaluationSubmission.submitted_at, EvaluationSubmission.id)
    ).all()
    reminders = session.execute(
        select(EvaluationReminder.offering_id, EvaluationReminder.sent_at)
        .where(EvaluationReminder.user_id == user.id)
        .order_by(EvaluationReminder.sent_at)
    ).all()
    return Export(
        {
            "note": ANSWERS_NOTE,
            "evaluated": [
                {
                    "offering_id": row.offering_id,
                    "item": row.code,
                    "title": row.title,
                    "starts_on": iso(row.starts_on),
                    "ends_on": iso(row.ends_on),
                    "submitted_at": iso(row.submitted_at),
                }
                for row in evaluated
            ],
            "reminders_sent": [
                {"offering_id": row.offering_id, "sent_at": iso(row.sent_at)} for row in reminders
            ],
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

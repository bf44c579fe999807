"""The evaluation's rules: who is asked for it, an offering's form, submitting it once.

One question decides who is asked, whose certificate waits and who is reminded, and
`_PENDING` asks it: a live completion earned by attending an offering (`offering_id` set) of
an item whose evaluation is required, with no submission by that person for that offering.
Anyone holding a live completion from an offering may evaluate it; only a required
evaluation is asked for and holds the certificate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, joinedload

from lms.audit.services import record_event
from lms.catalog.api import CatalogItem, EvaluationForm, form_for
from lms.db import flush_or_refuse, read
from lms.errors import Conflict, NotFound
from lms.evaluations.models import EvaluationResponse, EvaluationSubmission
from lms.offerings.api import Offering
from lms.progress.api import Completion
from lms.signals import certificate_hold_released


def about_completion(model: Any) -> Any:
    """The join condition of a row of `model` (a submission, a reminder) that is about the
    completion's person and offering."""
    return and_(model.user_id == Completion.user_id, model.offering_id == Completion.offering_id)


# Built once: the dashboard runs the per-person form on views where it is needed at all.
_PENDING = (
    select(
        Completion.id,
        Completion.user_id,
        Completion.offering_id,
        Completion.completed_on,
        CatalogItem.title,
        CatalogItem.short_title,
        Offering.starts_on,
        Offering.ends_on,
    )
    .join(CatalogItem, CatalogItem.id == Completion.item_id)
    .join(Offering, Offering.id == Completion.offering_id)
    .outerjoin(EvaluationSubmission, about_completion(EvaluationSubmission))
    .where(
        Completion.is_live,
        CatalogItem.evaluation_required.is_(True),
        EvaluationSubmission.id.is_(None),
    )
)
_PENDING_OF_PERSON = _PENDING.where(Completion.user_id == bindparam("user_id")).order_by(
    Completion.completed_on, Completion.id
)
_PENDING_AMONG = _PENDING.where(Completion.id.in_(bindparam("ids", expanding=True)))
CHUNK = 500  # bound parameters per statement
NOT_YOURS = "There is no evaluation for you here: it opens once your attendance is recorded."


class _NamedByItem:
    """An offering's evaluation, called by its item's short title (or else its title)."""

    title: str
    short_title: str

    @property
    def name(self) -> str:
        """The item's short name ("Module 2")."""
        return self.short_title or self.title


@dataclass(frozen=True)
class PendingEvaluation(_NamedByItem):
    """An attended offering whose required evaluation the person has not submitted."""

    completion_id: int
    user_id: int
    offering_id: int
    completed_on: date
    title: str
    short_title: str
    starts_on: date
    ends_on: date


def pending_query() -> Any:
    """The pending-evaluation SELECT, for callers that narrow it further (the reminders)."""
    return _PENDING


def pending_of_person(session: Session, user_id: int) -> list[PendingEvaluation]:
    """The person's attended offerings still waiting for their evaluation (one query)."""
    return [
        PendingEvaluation(*row) for row in read(session, _PENDING_OF_PERSON, {"user_id": user_id})
    ]


def pending_among(session: Session, completions: Sequence[Completion]) -> set[int]:
    """Ids of the given completions that wait for an evaluation (no query when none of them
    was earned by attending an offering)."""
    ids = sorted(c.id for c in completions if c.offering_id is not None and c.is_live)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        rows = read(session, _PENDING_AMONG, {"ids": ids[start : start + CHUNK]})
        found.update(row[0] for row in rows)
    return found


def evaluated_user_ids(session: Session, offering_id: int) -> set[int]:
    """Who has submitted the offering's evaluation (one indexed query): the CE roster's
    "evaluation done" column. Never what they answered."""
    return set(
        session.scalars(
            select(EvaluationSubmission.user_id).where(
                EvaluationSubmission.offering_id == offering_id
            )
        )
    )


# --------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class OfferingEvaluation(_NamedByItem):
    """An offering's evaluation: what it is of, and its form."""

    offering_id: int
    item_id: int
    title: str
    short_title: str
    starts_on: date
    ends_on: date
    required: bool
    form: EvaluationForm


def evaluation_of(session: Session, offering_id: int) -> OfferingEvaluation:
    """The offering's evaluation form, from its item and the programme settings (two queries)."""
    from lms.catalog.services import programme_settings

    offering = session.scalar(
        select(Offering).options(joinedload(Offering.item)).where(Offering.id == offering_id)
    )
    if offering is None:
        raise NotFound("No such offering.")
    item = offering.item
    return OfferingEvaluation(
        offering_id=offering.id,
        item_id=item.id,
        title=item.title,
        short_title=item.short_title,
        starts_on=offering.starts_on,
        ends_on=offering.ends_on,
        required=item.evaluation_required,
        form=form_for(item.objectives or (), programme_settings(session)),
    )


def _own_completion(session: Session, user_id: int, offering_id: int) -> Completion | None:
    """The person's live completion earned by attending the offering, if any."""
    return session.scalar(
        select(Completion).where(
            Completion.user_id == user_id,
            Completion.offering_id == offering_id,
            Completion.is_live,
        )
    )


def submitted_at(session: Session, user_id: int, offering_id: int) -> datetime | None:
    """When the person submitted the offering's evaluation (None: not yet)."""
    return session.scalar(
        select(EvaluationSubmission.submitted_at).where(
            EvaluationSubmission.user_id == user_id,
            EvaluationSubmission.offering_id == offering_id,
        )
    )


@dataclass(frozen=True)
class EvaluationPage:
    """What the form page shows one person."""

    evaluation: OfferingEvaluation
    submitted_at: datetime | None


def evaluation_page(session: Session, user_id: int, offering_id: int) -> EvaluationPage:
    """The form for a person who attended the offering (NotFound for anyone else)."""
    if _own_completion(session, user_id, offering_id) is None:
        raise NotFound(NOT_YOURS)
    return EvaluationPage(
        evaluation_of(session, offering_id), submitted_at(session, user_id, offering_id)
    )


def submit_evaluation(
    session: Session, *, user_id: int, offering_id: int, answers: Mapping[str, Any]
) -> EvaluationSubmission:
    """Record that the person evaluated the offering and, apart, their anonymous answers.

    Both rows go in the caller's unit of work; then the certificate that waited for the
    evaluation follows (lms.signals.certificate_hold_released). A second submission is a
    Conflict: one evaluation per person and offering.
    """
    completion = _own_completion(session, user_id, offering_id)
    if completion is None:
        raise NotFound(NOT_YOURS)
    evaluation = evaluation_of(session, offering_id)
    stored = evaluation.form.clean(answers)
    submission = EvaluationSubmission(user_id=user_id, offering_id=offering_id)
    # A double click loses the race, not the transaction.
    refusal = Conflict(f"You have already evaluated {evaluation.name}; thank you.")
    flush_or_refuse(session, refusal, add=submission)
    session.add(
        EvaluationResponse(offering_id=offering_id, item_id=evaluation.item_id, answers=stored)
    )
    record_event(
        session,
        actor_id=user_id,
        action="evaluation.submitted",
        subject_type="offering",
        subject_id=offering_id,
        person_id=user_id,
        item_id=evaluation.item_id,
    )
    session.flush()
    certificate_hold_released.send(completion, session=session, actor_id=user_id)
    return submission

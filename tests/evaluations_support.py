"""Helpers for the evaluation tests: a past offering, attending it, answering its form."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem
from lms.clock import today as programme_today
from lms.db import db
from lms.evaluations.services import submit_evaluation
from lms.offerings.days import DaySpec, new_offering
from lms.offerings.models import Offering, OfferingFacilitator, OfferingFormat
from lms.offerings.schedule import OfferingInput, create_offering
from lms.progress.models import Completion, CompletionSource
from lms.progress.services import record_completion, shared_programme

# What the default catalogue's Module 2 evaluation asks: 3 objectives, 5 ratings, 2 texts.
M2_RATINGS = ("objective_1", "objective_2", "objective_3") + tuple(
    f"q_{q}" for q in ("relevance", "presenters", "apply", "bias", "overall")
)


def past_offering(
    session: Session,
    code: str = "M2",
    *,
    days_ago: int = 10,
    days: int = 1,
    facilitator_ids: tuple[int, ...] = (),
) -> Offering:
    """A live online offering of the item that ended `days_ago` days ago (committed)."""
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
    start = programme_today() - timedelta(days=days_ago + days - 1)
    offering = new_offering(
        item.id,
        [DaySpec(start + timedelta(days=n), time(9), time(17), Decimal("8")) for n in range(days)],
        format=OfferingFormat.LIVE_ONLINE,
        capacity=40,
    )
    session.add(offering)
    session.flush()
    for user_id in facilitator_ids:
        session.add(OfferingFacilitator(offering_id=offering.id, user_id=user_id))
    session.commit()
    return offering


def attend(session: Session, user_id: int, offering: Offering) -> Completion:
    """Record the completion that closing the offering records for someone who attended it,
    and commit (the certificate, when not held, is rendered by the immediate queue)."""
    code = session.scalar(select(CatalogItem.code).where(CatalogItem.id == offering.item_id))
    completion = record_completion(
        session,
        user_id=user_id,
        item_code=code,
        completed_on=offering.ends_on,
        source=CompletionSource.ATTENDANCE,
        actor_id=None,
        offering_id=offering.id,
    )
    db.commit()
    return completion


def answers(rating: int = 4, **texts: str) -> dict[str, str]:
    """A complete set of answers to Module 2's evaluation, as a browser posts them."""
    data = {key: str(rating) for key in M2_RATINGS}
    data.update({f"q_{key}": value for key, value in texts.items()})
    return data


def offering_with_evaluations(session: Session, owing: Any, facilitator: Any) -> int:
    """A Module 4 offering held last week (the page walk's): the owing clinician and three
    others attended it (attendance completions, as closing records them), and the three
    evaluated it; returns its id."""

    held_on = programme_today(session) - timedelta(days=6)
    offering = create_offering(
        session,
        item_code="M4",
        data=OfferingInput(
            days=(DaySpec(held_on, time(9), time(16), Decimal("7")),),
            format=OfferingFormat.LIVE_ONLINE,
            capacity=30,
            facilitator_ids=(facilitator.id,),
        ),
        actor_id=facilitator.id,
    )
    db.commit()
    item_id = shared_programme(session).by_code["M4"].id
    done = set(
        session.scalars(
            select(Completion.user_id).where(
                Completion.item_id == item_id, Completion.revoked_at.is_(None)
            )
        )
    )
    others = session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.CLINICIAN, User.id != owing.id, User.id.not_in(done or {0}))
        .where(User.deletion_requested_at.is_(None))
        .order_by(User.id)
        .limit(3)
    ).all()
    for person in (owing, *others):
        record_completion(
            session,
            user_id=person.id,
            item_code="M4",
            completed_on=held_on,
            source=CompletionSource.ATTENDANCE,
            actor_id=facilitator.id,
            offering_id=offering.id,
        )
    db.commit()
    comments = ("The trauma case discussions.", "", "Pacing of the afternoon.")
    for rating, (person, comment) in enumerate(zip(others, comments, strict=True), start=3):
        answers = {f"objective_{n}": str(rating) for n in (1, 2, 3)}
        answers |= {f"q_{q}": str(rating) for q in ("relevance", "presenters", "apply", "bias")}
        answers |= {"q_overall": "5", "q_most_useful": comment, "q_improve": ""}
        submit_evaluation(session, user_id=person.id, offering_id=offering.id, answers=answers)
    db.commit()
    return offering.id


def evaluate(session: Session, user_id: int, offering_id: int, rating: int = 4) -> None:
    """Answer every rating of the offering's evaluation (whatever its item asks) and commit:
    what a clinician does after attending, so that the CE certificate follows."""
    from lms.evaluations.services import evaluation_of

    form = evaluation_of(session, offering_id).form
    answers = {q.key: str(min(rating, len(q.labels))) for q in form.all if q.is_likert}
    submit_evaluation(session, user_id=user_id, offering_id=offering_id, answers=answers)
    db.commit()

"""Medical reviewers' past decisions: the list of decided screenings, and changing a decision
(with a note, audited) while the session has not started."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, joinedload

from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, InvalidInput
from lms.offerings import places
from lms.offerings.api import LIVE_PLACE, Enrolment, EnrolmentStatus, Offering
from lms.paging import Page
from lms.retreats.models import Verdict
from lms.retreats.records import NOUN, application_for_reviewer, day_or_today, day_text
from lms.retreats.review_thread import record_decision
from lms.retreats.screening import fernet_for

PER_PAGE = 25

# Where a decided application can stand while its decision may still change: cleared (a place
# or the waitlist) or not cleared. After attendance is marked, or a withdrawal, it stays.
REVISABLE = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED, EnrolmentStatus.NOT_CLEARED)


def verdict_of(status: EnrolmentStatus) -> Verdict:
    """The decision a reviewed application's status stands for (only cleared ones go on)."""
    return Verdict.NOT_CLEARED if status == EnrolmentStatus.NOT_CLEARED else Verdict.CLEARED


@dataclass(frozen=True)
class DecidedRow:
    """One decided screening in the list: the application, its decision, whether it may change."""

    application: Enrolment
    verdict: Verdict
    revisable: bool


def _refuse_a_second_place(session: Session, application: Enrolment) -> None:
    """Clearing again someone who meanwhile applied to another session of the same retreat
    would give them two places: refused, naming the other application."""
    other = session.scalar(
        select(Enrolment)
        .join(Offering, Enrolment.offering_id == Offering.id)
        .where(
            Enrolment.user_id == application.user_id,
            Enrolment.id != application.id,
            Offering.item_id == application.offering.item_id,
            Enrolment.status.in_(
                (
                    EnrolmentStatus.MEDICAL_REVIEW,
                    EnrolmentStatus.ENROLLED,
                    EnrolmentStatus.WAITLISTED,
                    EnrolmentStatus.ATTENDED,
                )
            ),
            LIVE_PLACE,  # not a waitlist place left in a session closed since, say
        )
        .limit(1)
    )
    if other is not None:
        raise Conflict(
            f"{application.user.name} has since applied to the session of "
            f"{day_text(other.offering.starts_on)} ({other.status.label.lower()}); "
            "clearing this one would give them two places."
        )


def revisable(application: Enrolment, today: date) -> bool:
    """Whether a reviewer may still change the decision: it stands, and the session is ahead."""
    return application.status in REVISABLE and not application.offering.started(today)


def decided_page(
    session: Session,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    today: date | None = None,
    reviewer_id: int | None = None,
) -> Page[DecidedRow]:
    """Decided screenings, the latest decision first, one page, the reviewer's own
    application left out (two queries; no health data)."""
    day = day_or_today(today)
    decided = and_(Enrolment.reviewed_at.is_not(None), Enrolment.user_id != (reviewer_id or 0))
    total = session.scalar(select(func.count()).select_from(Enrolment).where(decided)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        select(Enrolment)
        .options(
            joinedload(Enrolment.user),
            joinedload(Enrolment.reviewer),
            joinedload(Enrolment.offering).joinedload(Offering.item),
        )
        .where(decided)
        .order_by(Enrolment.reviewed_at.desc(), Enrolment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [DecidedRow(a, verdict_of(a.status), revisable(a, day)) for a in rows]
    return Page(items=items, page=page, per_page=per_page, total=total)


def change_decision(
    session: Session,
    application_id: int,
    *,
    reviewer_id: int,
    clear: bool,
    note: str,
    screening_key: str | None,
    today: date | None = None,
) -> Enrolment:
    """Change a screening's decision before its session starts, saying why in a note.

    Clearing one not cleared gives a place if one is free, else the waitlist; not clearing one
    cleared frees their place (or waitlist place) and the first person waiting takes it.
    """
    fernet_for(screening_key)  # the note is encrypted: refuse before anything changes
    if not (note or "").strip():
        raise InvalidInput("Say in the note why the decision changes.")
    application = application_for_reviewer(session, application_id, reviewer_id)
    retreat_session = places.lock_offering(session, application.offering_id)
    previous = application.status
    if previous not in REVISABLE:
        raise Conflict(
            f"This application is {previous.label.lower()}; only a cleared or not-cleared "
            "decision can be changed."
        )
    if retreat_session.started(day_or_today(today)):
        raise Conflict(
            f"The session started on {day_text(retreat_session.starts_on)}; "
            "its decisions can no longer be changed."
        )
    wanted = Verdict.CLEARED if clear else Verdict.NOT_CLEARED
    if verdict_of(previous) == wanted:
        raise Conflict(f"This screening is already {wanted.label.lower()}.")
    if clear:
        _refuse_a_second_place(session, application)
    status = (
        places.place_or_queue(session, retreat_session) if clear else EnrolmentStatus.NOT_CLEARED
    )
    now = utcnow()
    if not places.set_status(
        session,
        application,
        previous,
        status=status,
        reviewer_id=reviewer_id,
        reviewed_at=now,
        decided_at=now,
    ):
        raise AlreadyDecided("This application changed meanwhile; reload the page.")
    places.record_change(
        session,
        application,
        previous,
        actor_id=reviewer_id,
        action="screening.decision_changed",
        noun=NOUN,
        verdict=wanted.value,
    )
    record_decision(
        session,
        application,
        reviewer_id=reviewer_id,
        verdict=wanted,
        note=note,
        screening_key=screening_key,
        revisited=True,
    )
    if previous == EnrolmentStatus.ENROLLED:
        places.promote_waitlisted(session, retreat_session, actor_id=reviewer_id, noun=NOUN)
    return application

"""The demo's retreat sessions: the small group it adds, its applications with their
screenings, and the 2024 sessions put right from the cast's attendance records and closed.
Every step checks whether it has already happened (lms.demo.loader runs them)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.demo.cast import Apply, DemoSession
from lms.errors import InvalidInput
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering


def item_id(session: Session, code: str) -> int:
    """The catalogue id of an item code."""
    from lms.catalog.services import get_item

    return get_item(session, code).id


def find_offering_id(session: Session, code: str, starts_on: date, location: str) -> int | None:
    """The id of the offering of `code` starting `starts_on` at `location`, if any."""
    return session.scalar(
        select(Offering.id).where(
            Offering.item_id == item_id(session, code),
            Offering.starts_on == starts_on,
            Offering.location == location,
        )
    )


def ensure_session(session: Session, spec: DemoSession, admin: User) -> bool:
    """Add the demo's retreat session unless it exists."""
    from lms.offerings.api import OfferingInput, create_offering, every_day

    if find_offering_id(session, spec.code, spec.starts_on, spec.location) is not None:
        return False
    create_offering(
        session,
        item_code=spec.code,
        data=OfferingInput(
            days=tuple(every_day(spec.starts_on, spec.ends_on)),
            location=spec.location,
            capacity=spec.capacity,
            enrolment_deadline=spec.enrolment_deadline,
        ),
        actor_id=admin.id,
    )
    return True


def past_session_id(session: Session, code: str, ended_on: date) -> int | None:
    """The session of the retreat `code` that ended on `ended_on` (the catalogue's 2024
    sessions), if the catalogue has it."""
    return session.scalar(
        select(Offering.id)
        .where(Offering.item_id == item_id(session, code), Offering.ends_on == ended_on)
        .order_by(Offering.id)
        .limit(1)
    )


def attended_past_session(session: Session, user: User, session_id: int, actor: User) -> bool:
    """Put the clinician on the past session's roster as attended (the 2024 attendance
    records), which records the retreat's completion as a roster mark does, unless they are
    on it already or the session is closed (a run before this one did it)."""
    from lms.retreats.services import record_past_attendance

    on_roster = session.scalar(
        select(Enrolment.id).where(
            Enrolment.user_id == user.id,
            Enrolment.offering_id == session_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    )
    closed = session.scalar(select(Offering.closed_at).where(Offering.id == session_id))
    if on_roster is not None or closed is not None:
        return False
    record_past_attendance(session, session_id, user.id, actor_id=actor.id)
    return True


def close_past_sessions(session: Session, instructor: User) -> int:
    """Close the retreat sessions that are over with the attendance on their rosters (the
    cast's 2024 records): how many were closed (none on a second run)."""
    from lms.catalog.api import ItemKind
    from lms.clock import today
    from lms.offerings.api import OfferingStatus, close_offering

    ended = session.scalars(
        select(Offering.id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(
            CatalogItem.kind == ItemKind.RETREAT,
            Offering.status == OfferingStatus.SCHEDULED,
            Offering.ends_on < today(session),
        )
        .order_by(Offering.ends_on, Offering.id)
    ).all()
    for session_id in ended:
        close_offering(session, session_id, actor=instructor)
    return len(ended)


def do_apply(
    session: Session, user: User, step: Apply, reviewer: User, screening_key: str | None
) -> bool:
    """Apply with a screening unless already applied; then record the reviewer's decision."""
    from lms.retreats.api import CONTRAINDICATIONS, ScreeningAnswer, ScreeningInput
    from lms.retreats.services import apply, decide_screening

    session_id = find_offering_id(session, step.code, step.starts_on, step.location)
    if session_id is None:
        raise InvalidInput(
            f"The catalogue has no {step.code} session on {step.starts_on} in {step.location}; "
            "load the default catalogue first (flask --app wsgi lms catalog load --default)."
        )
    application = session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.offering_id == session_id)
    )
    created = application is None
    if application is None:
        details = dict(step.yes)
        screening = ScreeningInput(
            answers=tuple(
                ScreeningAnswer(code, code in details, details.get(code, ""))
                for code, _label in CONTRAINDICATIONS
            )
        )
        application = apply(
            session,
            user_id=user.id,
            session_id=session_id,
            screening=screening,
            screening_key=screening_key,
        )
    if step.clear is None or application.status != EnrolmentStatus.MEDICAL_REVIEW:
        return created
    decide_screening(session, application.id, reviewer_id=reviewer.id, clear=step.clear)
    return True

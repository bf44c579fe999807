"""What every part of retreats looks up: a retreat session, an application, the day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lms import dates
from lms.clock import today as programme_today
from lms.errors import Conflict, Forbidden, NotFound
from lms.i18n import translate
from lms.offerings.api import NO_LONGER_RUNNING, Enrolment, Offering, OfferingStatus, get_offering

NOUN = "application"  # what a retreat's enrolment is called in audit actions and messages


def day_or_today(today: date | None) -> date:
    """The day rules are judged on (tests pass one; the app uses the server's date)."""
    return today or programme_today()


def day_text(value: date) -> str:
    """A date as people read it in messages (the one date style)."""
    return dates.day(value)


def get_retreat_session(session: Session, session_id: int) -> Offering:
    """An offering of a retreat, or NotFound (a module's offering is not a retreat session)."""
    try:
        offering = get_offering(session, session_id)
    except NotFound:
        offering = None
    if offering is None or not offering.item.is_retreat:
        raise NotFound("No such retreat session.")
    return offering


def get_application(session: Session, application_id: int) -> Enrolment:
    """An application (an enrolment in a *retreat* session) with its person and session, or
    NotFound: a module's enrolment is no application, so no retreat action reaches one."""
    application = session.scalar(
        select(Enrolment)
        .options(
            joinedload(Enrolment.user),
            joinedload(Enrolment.offering).joinedload(Offering.item),
            joinedload(Enrolment.reviewer),
        )
        .where(Enrolment.id == application_id)
        .execution_options(populate_existing=True)
    )
    if application is None or not application.offering.item.is_retreat:
        raise NotFound("No such application.")
    return application


def application_for_reviewer(session: Session, application_id: int, reviewer_id: int) -> Enrolment:
    """An application a medical reviewer may read or decide: any but their own (Forbidden),
    whose screening, notes and questions another reviewer handles."""
    application = get_application(session, application_id)
    if application.user_id == reviewer_id:
        raise Forbidden("You cannot review your own screening; another reviewer must.")
    return application


def refuse_unless_running(application: Enrolment) -> None:
    """Refuse to screen an application whose session was closed or cancelled (Conflict): it is
    nobody's live place any more (lms.offerings' holds_live_place), and its answers are read
    only as the record of what was decided."""
    status = application.offering.status
    if status == OfferingStatus.CANCELLED:
        raise Conflict(
            translate("This session is cancelled: its applications are no longer screened.")
        )
    if status in NO_LONGER_RUNNING:
        raise Conflict("This session is closed: its applications are no longer screened.")

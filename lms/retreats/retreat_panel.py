"""The retreats' part of the dashboards: where a clinician stands with each retreat, and on
the staff home the screenings waiting for a medical reviewer and the attendance to mark."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import url_for
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User
from lms.catalog.api import CatalogItem, ItemKind
from lms.clock import today
from lms.db import read
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering
from lms.retreats.own_retreats import retreat_standings
from lms.retreats.review_thread import AWAITING_REVIEWER, not_their_own

if TYPE_CHECKING:
    from lms.progress.services import ClinicianSnapshot
    from lms.progress.staff_home import HomePart


def dashboard_section(
    session: Session, user: User, snapshot: ClinicianSnapshot | None = None
) -> tuple[str | None, dict[str, Any]]:
    """Standings by retreat code, read by the dashboard's `retreat_standing` macro
    (templates/retreats/_dashboard_retreat.html).

    `snapshot` is the dashboard's own catalogue and facts, so they are not read again.
    """
    standings = retreat_standings(session, user, snapshot=snapshot, every_session=False)
    return None, {"retreat_standings": {standing.code: standing for standing in standings}}


# Built once; counts only: a reviewer's home never reads a screening.
# Those waiting for the applicant's answer to a question are not the reviewer's work yet.
_IN_REVIEW = select(func.count(), func.min(Enrolment.applied_at)).where(
    AWAITING_REVIEWER, not_their_own(bindparam("reviewer"))
)
# A session's own columns: selected, and grouped by for the count of places to mark.
_SESSION_COLUMNS = (
    Offering.id,
    CatalogItem.short_title,
    CatalogItem.title,
    Offering.starts_on,
    Offering.ends_on,
    Offering.location,
)
_ATTENDANCE_DUE = (
    select(*_SESSION_COLUMNS, func.count(Enrolment.id))
    .join(Offering, Enrolment.offering_id == Offering.id)
    .join(CatalogItem, Offering.item_id == CatalogItem.id)
    .where(
        CatalogItem.kind == ItemKind.RETREAT,
        Enrolment.status == EnrolmentStatus.ENROLLED,
        Offering.attendance_open(bindparam("today")),
    )
    .group_by(*_SESSION_COLUMNS)
    .order_by(Offering.ends_on, Offering.id)
)


def staff_home_part(session: Session, user: User) -> HomePart | None:
    """Screenings to review (medical reviewers) and retreat sessions whose last day has come
    with places still unmarked (instructors and admins): two queries at most."""
    from lms.progress.api import HomePart, Waiting

    waiting = []
    if user.has_role(Role.MEDICAL_REVIEWER):
        count, oldest = read(session, _IN_REVIEW, {"reviewer": user.id}).one()
        waiting.append(
            Waiting(
                "screenings waiting for medical review",
                count or 0,
                url_for("retreats.review_queue"),
                oldest,
                "Review",
                "oldest sent",
                "screening waiting for medical review",
            )
        )
    if user.is_staff:
        day: date = today(session)
        for offering_id, short, title, starts, ends, location, count in read(
            session, _ATTENDANCE_DUE, {"today": day}
        ):
            which = f"{short or title}, {dates.day(starts, ends)}, {location}"
            waiting.append(
                Waiting(
                    f"people to mark attended or absent: {which}",
                    count,
                    url_for("retreats.roster", session_id=offering_id),
                    ends,
                    "Mark attendance",
                    "last day",
                    f"person to mark attended or absent: {which}",
                )
            )
    return HomePart(waiting=tuple(waiting)) if waiting else None


def subscribe() -> None:
    """Register the dashboard and staff home parts once (calling this again changes nothing)."""
    from lms.progress.api import STAFF_HOME
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
    if staff_home_part not in STAFF_HOME:
        STAFF_HOME.append(staff_home_part)

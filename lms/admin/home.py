"""The administrator's home says, in words, when background work is not getting done: no job
consumer has been seen for a minute, or certificates and mail have waited five minutes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.auth.api import Role, User
from lms.job_health import jobs_health
from lms.progress.api import STAFF_HOME, HomePart


def staff_home_part(session: Session, user: User) -> HomePart | None:
    """A warning section for administrators while the jobs are late (nothing otherwise)."""
    if not user.has_role(Role.ADMIN):
        return None
    health = jobs_health(session)
    if not health.late:
        return None
    return HomePart(template="admin/_jobs_health.html", context={"health": health})


def subscribe() -> None:
    """Register the part once (calling this again changes nothing)."""
    if staff_home_part not in STAFF_HOME:
        STAFF_HOME.append(staff_home_part)

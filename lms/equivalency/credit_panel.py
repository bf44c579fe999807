"""The credit requests waiting for a decision, on the staff home of instructors and admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.db import read
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus

if TYPE_CHECKING:
    from lms.progress.staff_home import HomePart

_PENDING = select(func.count(), func.min(EquivalencyRequest.created_at)).where(
    EquivalencyRequest.status == EquivalencyStatus.PENDING
)


def staff_home_part(session: Session, user: User) -> HomePart | None:
    """How many requests await a decision and since when (one query; staff only)."""
    from lms.progress.api import HomePart, Waiting

    if not user.is_staff:
        return None
    count, oldest = read(session, _PENDING).one()
    return HomePart(
        waiting=(
            Waiting(
                "credit requests to decide",
                count or 0,
                url_for("equivalency.review"),
                oldest,
                "Review",
                "oldest sent",
                "credit request to decide",
            ),
        )
    )


def subscribe() -> None:
    """Register the staff home part once (calling this again changes nothing)."""
    from lms.progress.api import STAFF_HOME

    if staff_home_part not in STAFF_HOME:
        STAFF_HOME.append(staff_home_part)

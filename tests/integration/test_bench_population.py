"""The bench's population is one the tracker could have recorded: nothing dated in the future,
no upcoming session holding more people than its places, attendance only at sessions that are
over, and standings that `progress check` finds true after a rebuild."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import func, select

from lms.auth.models import Role
from lms.certificates.services import programme
from lms.offerings.models import PLACE_HOLDING, Enrolment, EnrolmentStatus, Offering
from lms.progress import standings
from lms.progress.models import Completion

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is a folder of scripts

from bench.population import LATEST, insert_population  # noqa: E402


def test_the_bench_population_could_have_happened(session, engine, catalog, make_user) -> None:
    """1,200 clinicians: dates, places and attendance as real use leaves them."""
    instructor = make_user(Role.INSTRUCTOR)
    settings = programme(session)
    session.commit()
    with engine.connect() as conn:
        report = insert_population(
            conn,
            count=1200,
            password_hash=instructor.password_hash,
            instructor_id=instructor.id,
            settings=settings,
        )
    assert report.applications > 0 and report.completions > 0
    assert session.scalar(select(func.max(Completion.completed_on))) <= LATEST
    assert session.scalar(select(func.max(Enrolment.applied_at))).date() <= LATEST
    held = session.execute(
        select(Offering.id, Offering.capacity, func.count(Enrolment.id))
        .join(Enrolment, Enrolment.offering_id == Offering.id)
        .where(Offering.ends_on > LATEST, Enrolment.status.in_(PLACE_HOLDING))
        .group_by(Offering.id, Offering.capacity)
    ).all()
    assert held and all(taken <= capacity for _, capacity, taken in held)
    attended_late = session.scalar(
        select(func.count(Enrolment.id))
        .join(Offering, Enrolment.offering_id == Offering.id)
        .where(Enrolment.status == EnrolmentStatus.ATTENDED, Offering.ends_on > LATEST)
    )
    assert attended_late == 0
    standings.refresh(session, None)
    session.commit()
    assert standings.check(session).differences == []

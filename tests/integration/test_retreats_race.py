"""Two medical reviewers acting at the same moment never overfill a session or decide twice."""

from __future__ import annotations

import threading

from retreats_support import add_session, complete, screening
from sqlalchemy import select

from lms.auth.models import Role
from lms.db import db
from lms.errors import AlreadyDecided
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.retreats import services

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


def _applicants(session, make_user, retreat_session, count):
    """`count` eligible clinicians, each with an application in medical review."""
    ids = []
    for _ in range(count):
        user = make_user(Role.CLINICIAN)
        complete(session, user.id, "M1")
        application = services.apply(
            session,
            user_id=user.id,
            session_id=retreat_session.id,
            screening=screening(),
            screening_key=KEY,
        )
        session.commit()
        ids.append(application.id)
    return ids


def _race(app, jobs):
    """Run each job in its own thread and app context, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                outcomes[index] = job(db.session)
                db.commit()
            except Exception as error:  # collected and asserted on by the test
                db.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_reviewers_clearing_the_last_place_at_once_never_exceed_capacity(
    app, session, make_user, catalog
):
    retreat_session = add_session(session, capacity=1)
    first, second = _applicants(session, make_user, retreat_session, 2)
    reviewers = [make_user(Role.MEDICAL_REVIEWER).id, make_user(Role.MEDICAL_REVIEWER).id]
    session.close()

    outcomes = _race(
        app,
        [
            lambda s: services.decide_screening(s, first, reviewer_id=reviewers[0], clear=True),
            lambda s: services.decide_screening(s, second, reviewer_id=reviewers[1], clear=True),
        ],
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    statuses = sorted(
        session.scalars(
            select(Enrolment.status).where(Enrolment.offering_id == retreat_session.id)
        ).all()
    )
    assert statuses == [EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED]


def test_two_reviewers_deciding_the_same_screening_at_once_decide_it_once(
    app, session, make_user, catalog
):
    retreat_session = add_session(session, capacity=5)
    (only,) = _applicants(session, make_user, retreat_session, 1)
    reviewers = [make_user(Role.MEDICAL_REVIEWER).id, make_user(Role.MEDICAL_REVIEWER).id]
    session.close()

    outcomes = _race(
        app,
        [
            lambda s: services.decide_screening(s, only, reviewer_id=reviewers[0], clear=True),
            lambda s: services.decide_screening(s, only, reviewer_id=reviewers[1], clear=False),
        ],
    )

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], AlreadyDecided), outcomes
    assert "already decided by" in errors[0].message


def test_the_same_clinician_applying_twice_at_once_gets_one_application(
    app, session, make_user, catalog
):
    from lms.errors import Conflict

    retreat_session = add_session(session, capacity=5)
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    user_id, session_id = clinician.id, retreat_session.id
    session.close()

    def apply_once(s):
        return services.apply(
            s, user_id=user_id, session_id=session_id, screening=screening(), screening_key=KEY
        )

    outcomes = _race(app, [apply_once, apply_once])

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], Conflict), outcomes
    assert len(session.scalars(select(Enrolment)).all()) == 1

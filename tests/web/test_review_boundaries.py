"""Retreat actions reach only retreat applications (never a module's enrolment), and a
medical reviewer never reads, lists or decides their own application."""

from __future__ import annotations

from offerings_support import add_offering
from retreats_support import add_session, complete, screening_form
from sqlalchemy import select

from lms.auth.models import Role
from lms.offerings import enrolment as enrolling
from lms.offerings.models import Enrolment, EnrolmentStatus


def _status(session, enrolment_id: int) -> EnrolmentStatus:
    """The enrolment's status as stored now."""
    session.expire_all()
    return session.get(Enrolment, enrolment_id).status


def test_no_retreat_action_reaches_a_modules_enrolment(app, login, session, make_user, catalog):
    admin = make_user(Role.ADMIN)
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    offering = add_offering(session, admin.id, "M2", starts_in=20)
    place = enrolling.enrol_user(session, offering.id, clinician.id, actor_id=admin.id)
    session.commit()
    reviewer = login(app.test_client(), make_user(Role.MEDICAL_REVIEWER))
    instructor = login(app.test_client(), make_user(Role.INSTRUCTOR))

    changed = reviewer.post(
        f"/retreats/review/{place.id}/change", data={"decision": "not_clear", "note": "x"}
    )
    decided = reviewer.post(f"/retreats/review/{place.id}", data={"decision": "not_clear"})
    asked = reviewer.post(f"/retreats/review/{place.id}/question", data={"question": "Why?"})
    marked = instructor.post(
        f"/retreats/applications/{place.id}/attendance",
        data={"attended": "yes", "session_id": offering.id},
    )

    for response in (changed, decided, asked):
        assert response.status_code in (302, 404)
    assert marked.status_code in (302, 404)
    assert _status(session, place.id) == EnrolmentStatus.ENROLLED


def test_a_reviewer_who_applies_is_reviewed_by_another_and_never_reads_their_own(
    app, login, session, make_user, catalog
):
    doctor = make_user(Role.CLINICIAN, Role.MEDICAL_REVIEWER, name="Dora Doctor")
    complete(session, doctor.id, "M1")
    retreat_session = add_session(session, capacity=4)
    session.commit()
    client = login(app.test_client(), doctor)
    applied = client.post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(yes=("sleep_apnea",), detail="CPAP"),
    )
    assert applied.status_code == 302
    session.expire_all()
    own = session.scalar(select(Enrolment).where(Enrolment.user_id == doctor.id))

    def queue(browser) -> str:
        """The review queue's main part (the header names whoever is signed in)."""
        return browser.get("/retreats/review").text.split("<main", 1)[1]

    assert "Dora Doctor" not in queue(client)
    page = client.get(f"/retreats/review/{own.id}")
    assert page.status_code == 403 and "CPAP" not in page.text
    other = login(app.test_client(), make_user(Role.MEDICAL_REVIEWER))
    assert "Dora Doctor" in queue(other)
    assert other.get(f"/retreats/review/{own.id}").status_code == 200
    assert _status(session, own.id) == EnrolmentStatus.MEDICAL_REVIEW


def test_a_question_left_open_by_a_decision_tells_the_applicant_no_answer_is_needed(
    app, login, session, make_user, catalog
):
    applicant = make_user(Role.CLINICIAN)
    complete(session, applicant.id, "M1")
    retreat_session = add_session(session, capacity=4)
    session.commit()
    mine = login(app.test_client(), applicant)
    mine.post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(yes=("sleep_apnea",), detail="CPAP"),
    )
    session.expire_all()
    application = session.scalar(select(Enrolment).where(Enrolment.user_id == applicant.id))
    reviewer = login(app.test_client(), make_user(Role.MEDICAL_REVIEWER))
    reviewer.post(f"/retreats/review/{application.id}/question", data={"question": "CPAP?"})
    reviewer.post(f"/retreats/review/{application.id}", data={"decision": "clear"})
    assert _status(session, application.id) == EnrolmentStatus.ENROLLED

    page = mine.get(f"/retreats/applications/{application.id}/questions").text
    assert "decided without needing your answer" in page
    assert "Send the answer" not in page

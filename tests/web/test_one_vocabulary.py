"""The words people read: a graduate is told they completed the programme, and the staff
home says how many are waitlisted and how many are in medical review (not "waiting")."""

from __future__ import annotations

import re

from retreats_support import add_session, complete

from lms.auth.models import Role
from lms.catalog.models import ItemKind
from lms.offerings.models import Enrolment, EnrolmentStatus


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_graduate_reads_that_they_completed_the_programme(
    app, login, session, make_user, catalog
):
    graduate = make_user(Role.CLINICIAN)
    complete(session, graduate.id, *catalog)  # every module and every retreat
    halfway = make_user(Role.CLINICIAN)
    modules = [code for code, item in catalog.items() if item.kind != ItemKind.RETREAT]
    complete(session, halfway.id, *modules, "RETREAT-L1")
    session.commit()
    retreats = sum(1 for item in catalog.values() if item.kind == ItemKind.RETREAT)

    done = text_of(login(app.test_client(), graduate).get("/"))
    assert "You have completed the program:" in done
    assert (
        f"all {retreats} retreats" in done
        and f"{retreats} of {retreats} retreats completed" in done
    )
    assert "open to you" not in done

    on_the_way = text_of(login(app.test_client(), halfway).get("/"))
    assert "You have completed the program" not in on_the_way
    assert f"1 of {retreats} retreats completed" in on_the_way
    assert "retreat open to you" in on_the_way or "retreats open to you" in on_the_way


def test_the_staff_home_counts_the_waitlisted_and_those_in_medical_review_apart(
    app, login, session, make_user, catalog
):
    coming = add_session(session, starts_in=20, capacity=1, location="Counted Place")
    statuses = (
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.MEDICAL_REVIEW,
    )
    for status in statuses:
        person = make_user(Role.CLINICIAN)
        session.add(Enrolment(user_id=person.id, offering_id=coming.id, status=status))
    session.commit()
    words = text_of(login(app.test_client(), make_user(Role.INSTRUCTOR)).get("/"))
    line = words[words.index("Counted Place") :][:120]
    assert "1 of 1" in line and "· 2 waitlisted · 1 in medical review" in line
    assert " waiting" not in line

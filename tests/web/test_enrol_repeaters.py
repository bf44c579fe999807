"""Staff are warned before enrolling someone who already has the offering's module: the
search shows where each person stands, and a repeat takes "Enrol anyway"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from certificates_support import record
from clock_support import programme_today
from offerings_support import add_offering
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.offerings.models import Enrolment, EnrolmentStatus


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def places(session, offering_id: int) -> int:
    """Live enrolments in the offering."""
    session.expire_all()
    return session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.offering_id == offering_id, Enrolment.status != EnrolmentStatus.WITHDRAWN)
    )


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def setting(session, catalog, admin, make_user):
    """A Module 1 offering; Rita completed Module 1 in March, Nell has not."""
    offering = add_offering(session, admin.id, "M1", starts_in=10, days=1)
    rita = make_user(Role.CLINICIAN, name="Rita Repeat", email="rita@example.test")
    nell = make_user(Role.CLINICIAN, name="Nell New", email="nell@example.test")
    record(session, rita.id, "M1", on=programme_today() - timedelta(days=90))
    session.commit()
    return offering, rita, nell


def test_the_search_says_who_already_has_the_module_and_asks_to_enrol_anyway(
    app, login, session, admin, setting
):
    offering, rita, nell = setting
    client = login(app.test_client(), admin)
    page = client.get(f"/offerings/{offering.id}/people?q=example.test")
    text = text_of(page)
    assert page.status_code == 200
    done_on = (programme_today() - timedelta(days=90)).strftime("%b %-d, %Y")  # en-US, the default
    assert f"Rita Repeat, LCSW rita@example.test Completed on {done_on} already has" in text
    assert "Enroll anyway Rita Repeat" in text
    assert "Nell New, LCSW nell@example.test Open Enroll Nell New" in text


def test_enrolling_a_repeater_without_confirming_changes_nothing_and_warns(
    app, login, session, admin, setting
):
    offering, rita, nell = setting
    client = login(app.test_client(), admin)
    client.get(f"/offerings/{offering.id}/people")
    refused = client.post(
        f"/offerings/{offering.id}/people/add", data={"user_id": rita.id, "q": "rita"}
    )
    assert refused.status_code == 302 and refused.location.endswith("people?q=rita")
    warned = text_of(client.get(refused.location))
    assert "Rita Repeat already has Module 1" in warned and "repeating" in warned
    assert places(session, offering.id) == 0

    confirmed = client.post(
        f"/offerings/{offering.id}/people/add",
        data={"user_id": rita.id, "q": "rita", "anyway": "1"},
    )
    assert confirmed.status_code == 302
    client.post(f"/offerings/{offering.id}/people/add", data={"user_id": nell.id})
    assert places(session, offering.id) == 2


def test_a_pasted_list_with_a_repeater_enrols_nobody_until_staff_tick_anyway(
    app, login, session, admin, setting
):
    offering, rita, nell = setting
    client = login(app.test_client(), admin)
    client.get(f"/offerings/{offering.id}/people")
    emails = "nell@example.test\nrita@example.test"
    refused = client.post(f"/offerings/{offering.id}/people", data={"emails": emails})
    text = text_of(refused)
    assert refused.status_code == 422
    assert "Why nobody was enrolled" in text and "rita@example.test: Completed on" in text
    assert places(session, offering.id) == 0

    done = client.post(f"/offerings/{offering.id}/people", data={"emails": emails, "anyway": "y"})
    assert done.status_code == 302
    summary = text_of(client.get(done.location))
    assert "2 enrolled, 1 repeating the module" in summary
    assert places(session, offering.id) == 2

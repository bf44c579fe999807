"""The consultation-credit pages: a clinician asks (group or individual, how many, hours,
evidence), the request reads in words on their list and the review queue, staff decide it on
the request's page, and bad numbers get the form back storing nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from clock_support import programme_today
from retreats_support import PDF_BYTES
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus


def _form(**overrides):
    """The consultation-credit form as a browser posts it."""
    data = {
        "kind": "individual_consultation",
        "consultations": "6",
        "hours": "6",
        "programme": "Other",
        "programme_other": "Fluence",
        "attended_from": (programme_today() - timedelta(days=300)).isoformat(),
        "attended_to": (programme_today() - timedelta(days=100)).isoformat(),
        "description": "Individual consultation with a Fluence consultant, online.",
        "evidence": (io.BytesIO(PDF_BYTES), "fluence-letter.pdf"),
    }
    data.update(overrides)
    return data


@pytest.fixture
def clinician(make_user, catalog):
    """A clinician asking for consultation credit."""
    return make_user(Role.CLINICIAN, name="Cleo Clinician")


@pytest.fixture
def as_clinician(app, login, clinician):
    """A client signed in as the clinician."""
    return login(app.test_client(), clinician)


def _requests(session) -> int:
    """Requests stored."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(EquivalencyRequest))


def test_the_outside_credit_page_offers_consultation_credit(as_clinician):
    page = as_clinician.get("/equivalency/")
    assert 'href="/equivalency/consultations/new"' in page.text
    form = as_clinician.get("/equivalency/consultations/new")
    assert form.status_code == 200
    assert "Group consultation" in form.text and "How many consultations" in form.text


def test_clinician_asks_for_consultation_credit_and_sees_it_pending(as_clinician, session):
    response = as_clinician.post(
        "/equivalency/consultations/new",
        data=_form(),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "6 individual consultations" in response.text and "pending approval" in response.text
    request = session.scalar(select(EquivalencyRequest))
    assert request.item_id is None and request.consultations == 6
    assert request.outside_programme == "Fluence"
    mine = as_clinician.get("/equivalency/").text
    assert "6 individual consultations" in mine and "Pending approval" in mine


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"consultations": "13"}, "from 1 to 12"),
        ({"consultations": "2", "hours": "48.5"}, "at most 48 hours"),
        ({"hours": "0"}, "from 0.25"),
        ({"kind": "therapist_session"}, "Not a valid choice"),
        ({"evidence": (io.BytesIO(b"<html></html>"), "letter.pdf")}, "not a PDF, PNG or JPEG"),
    ],
)
def test_bad_consultation_credit_gets_the_form_back_and_stores_nothing(
    as_clinician, session, overrides, message
):
    response = as_clinician.post(
        "/equivalency/consultations/new",
        data=_form(**overrides),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert message in response.text
    assert _requests(session) == 0


def test_staff_review_and_approve_consultation_credit_on_its_page(
    app, login, as_clinician, make_user, session
):
    as_clinician.post(
        "/equivalency/consultations/new", data=_form(), content_type="multipart/form-data"
    )
    request = session.scalar(select(EquivalencyRequest))
    instructor = login(app.test_client(), make_user(Role.INSTRUCTOR))
    queue = instructor.get("/equivalency/review").text
    assert "6 individual consultations" in queue
    page = instructor.get(f"/equivalency/{request.id}").text
    assert "Credit for 6 individual consultations" in page
    assert "counted for the Certificate of Training" in page
    decided = instructor.post(
        f"/equivalency/{request.id}/decide",
        data={"decision": "approve", "reason": "Letter from Fluence"},
        follow_redirects=True,
    )
    assert decided.status_code == 200 and "6 individual consultations" in decided.text
    session.expire_all()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.APPROVED

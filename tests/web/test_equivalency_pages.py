"""Credit-for-outside-training pages: upload, evidence access, withdraw, review and decide."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from clock_support import programme_today
from retreats_support import PDF_BYTES, complete
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from lms.auth.models import Role
from lms.equivalency.evidence import MAX_EVIDENCE_BYTES
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus


def _form(content=PDF_BYTES, filename="ktc-certificate.pdf", **overrides):
    """The request form as a browser posts it."""
    data = {
        "item_code": "M1",
        "programme": "KTC",
        "programme_other": "",
        "attended_from": (programme_today() - timedelta(days=100)).isoformat(),
        "attended_to": (programme_today() - timedelta(days=98)).isoformat(),
        "hours": "16",
        "description": "Three-day introductory KAP training with KTC.",
        "evidence": (io.BytesIO(content), filename),
    }
    data.update(overrides)
    return data


@pytest.fixture
def clinician(make_user, catalog):
    """A clinician asking for credit."""
    return make_user(Role.CLINICIAN, name="Cleo Clinician")


@pytest.fixture
def as_clinician(app, login, clinician):
    """A client signed in as the clinician."""
    return login(app.test_client(), clinician)


def _requests(session):
    """Requests in the database."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(EquivalencyRequest))


def test_clinician_asks_for_credit_and_sees_it_pending(as_clinician, session):
    response = as_clinician.post(
        "/equivalency/new", data=_form(), content_type="multipart/form-data", follow_redirects=True
    )
    assert response.status_code == 200
    assert "pending approval" in response.text
    assert "Pending approval" in as_clinician.get("/equivalency/").text
    request = session.scalar(select(EquivalencyRequest))
    assert request.status == EquivalencyStatus.PENDING and request.outside_programme == "KTC"


def test_other_programme_needs_a_name(as_clinician, session):
    response = as_clinician.post(
        "/equivalency/new",
        data=_form(programme="Other", programme_other=""),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "Name the other program" in response.text
    assert _requests(session) == 0


def test_wrong_evidence_type_is_refused_with_a_message(as_clinician, session):
    response = as_clinician.post(
        "/equivalency/new",
        data=_form(content=b"<svg onload=alert(1)>", filename="certificate.pdf"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "not a PDF, PNG or JPEG" in response.text
    assert _requests(session) == 0


def test_too_large_evidence_is_refused_with_a_message(as_clinician, session):
    big = PDF_BYTES + b"0" * (MAX_EVIDENCE_BYTES + 10)
    # Built by hand so the spooled temporary body the builder makes is closed (else the
    # interpreter warns about an unclosed file later, in some other test).
    builder = EnvironBuilder(path="/equivalency/new", method="POST", data=_form(content=big))
    environ = builder.get_environ()
    try:
        response = as_clinician.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert response.status_code == 422 and "larger than 5 MB" in response.text
    assert _requests(session) == 0


def _post_built(client, data):
    """Post a multipart form built by hand (so its spooled temporary body is closed)."""
    builder = EnvironBuilder(path="/equivalency/new", method="POST", data=data)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def test_a_file_a_little_too_large_gets_the_form_back_filled_in(as_clinician, session):
    """Over 5 MB but within what the server reads: the same form, every other field kept,
    the error at the file field naming the limit."""
    big = PDF_BYTES + b"0" * (MAX_EVIDENCE_BYTES + 1)
    response = _post_built(
        as_clinician,
        _form(
            content=big,
            programme="Other",
            programme_other="Psychedelic Institute West",
            description="Four days of KAP with case consultation.",
        ),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The evidence file is larger than 5 MB" in page
    field = re.search(
        r'<div class="field\s+has-error">\s*<label for="evidence">.*?</div>', page, re.S
    )
    assert field and "larger than 5 MB" in field[0]
    (file_input,) = re.findall(r'<input[^>]*id="evidence"[^>]*>', field[0])
    assert 'aria-invalid="true"' in file_input
    assert 'value="Psychedelic Institute West"' in page
    assert "Four days of KAP with case consultation.</textarea>" in page
    assert 'value="16"' in page and '<option selected value="Other">' in page
    assert _requests(session) == 0


def test_a_body_over_the_servers_limit_gets_the_trackers_own_page_naming_5_mb(
    app, as_clinician, session
):
    """Past what the server reads (the body is refused unread): a page of the tracker, with
    its header, saying the limit and how to send the form again."""
    too_big = b"%PDF-" + b"0" * app.config["MAX_CONTENT_LENGTH"]
    response = _post_built(as_clinician, _form(content=too_big))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is too large" in page and "at most 5 MB" in page
    assert "Back button" in page and 'class="site-header"' in page
    assert _requests(session) == 0


def test_evidence_is_downloaded_as_attachment_by_owner_and_staff_only(
    app, login, make_user, as_clinician, session
):
    as_clinician.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    request = session.scalar(select(EquivalencyRequest))
    url = f"/equivalency/{request.id}/evidence"
    own = as_clinician.get(url)
    assert own.status_code == 200 and own.data == PDF_BYTES
    assert own.headers["Content-Disposition"].startswith("attachment")
    assert "ktc-certificate" not in own.headers["Content-Disposition"]
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Content-Type"] == "application/pdf"
    for role in (Role.INSTRUCTOR, Role.ADMIN):
        assert login(app.test_client(), make_user(role)).get(url).status_code == 200
    stranger = login(app.test_client(), make_user(Role.CLINICIAN))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/equivalency/{request.id}").status_code == 404
    reviewer_only = login(app.test_client(), make_user(Role.MEDICAL_REVIEWER))
    assert reviewer_only.get(url).status_code == 404
    assert app.test_client().get(url).status_code == 302


def test_clinician_withdraws_a_pending_request(as_clinician, session):
    as_clinician.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    request = session.scalar(select(EquivalencyRequest))
    response = as_clinician.post(f"/equivalency/{request.id}/withdraw", follow_redirects=True)
    assert "withdrawn" in response.text
    session.expire_all()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.WITHDRAWN


def test_instructor_approves_and_the_level_1_retreat_opens_at_once(
    app, login, make_user, clinician, as_clinician, session
):
    complete(session, clinician.id, "M2")
    as_clinician.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    request = session.scalar(select(EquivalencyRequest))
    instructor = login(app.test_client(), make_user(Role.INSTRUCTOR))
    queue = instructor.get("/equivalency/review")
    assert "Cleo Clinician" in queue.text
    response = instructor.post(
        f"/equivalency/{request.id}/decide", data={"decision": "approve", "reason": "KTC is fine"}
    )
    assert response.status_code == 302
    page = as_clinician.get("/retreats/").text
    level1 = page.split('data-retreat="RETREAT-L1"', 1)[1].split("</section>", 1)[0]
    assert "Open" in level1


def test_decline_needs_a_reason_and_a_second_decision_is_refused(
    app, login, make_user, as_clinician, session
):
    as_clinician.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    request = session.scalar(select(EquivalencyRequest))
    first = login(app.test_client(), make_user(Role.INSTRUCTOR, name="Ada First"))
    second = login(app.test_client(), make_user(Role.ADMIN, name="Bo Second"))
    url = f"/equivalency/{request.id}/decide"
    missing = first.post(url, data={"decision": "decline", "reason": ""})
    assert missing.status_code == 422 and "reason" in missing.text
    assert first.post(url, data={"decision": "decline", "reason": "No hours"}).status_code == 302
    again = second.post(url, data={"decision": "approve", "reason": ""})
    assert again.status_code == 409 and "already declined by Ada First on" in again.text
    session.expire_all()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.DECLINED
    assert "No hours" in as_clinician.get("/equivalency/").text


def test_clinicians_cannot_reach_the_review_queue_or_decide(
    app, login, make_user, as_clinician, session
):
    as_clinician.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    request = session.scalar(select(EquivalencyRequest))
    assert as_clinician.get("/equivalency/review").status_code == 403
    assert (
        as_clinician.post(
            f"/equivalency/{request.id}/decide", data={"decision": "approve"}
        ).status_code
        == 403
    )
    session.expire_all()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.PENDING

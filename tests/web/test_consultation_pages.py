"""The consultation log's pages: the clinician's log with the requirement list, bad input that
stores nothing, CSRF, the consultant's link followed as a browser does, staff voiding and the
admin's consultants page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import func, select

from lms import create_app
from lms.auth.models import Role
from lms.mail.models import OutboxMessage
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.models import Consultant, Consultation, ConsultationState


@pytest.fixture
def consultant(session, make_user):
    """An approved consultant."""
    admin = make_user(Role.ADMIN)
    found = approved_list.add_consultant(
        session,
        approved_list.ConsultantInput(
            "Lee Park", "LMFT", "lee@consult.test", programme_today() - timedelta(days=30)
        ),
        actor_id=admin.id,
    )
    session.commit()
    return found


def _form(consultant, **overrides):
    """What the log form posts."""
    values = {
        "held_on": (programme_today() - timedelta(days=1)).isoformat(),
        "consultant_id": str(consultant.id),
        "kind": "individual_consultation",
        "hours": "1",
        "topic": "",
    }
    values.update(overrides)
    return values


def _count(session) -> int:
    """How many consultations are stored."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Consultation))


def test_the_log_page_lists_the_requirement_and_warns_about_client_information(
    client, login, make_user, consultant, catalog
):
    page = login(client, make_user()).get("/training/consultations").get_data(as_text=True)
    assert "0 of 12 group consultations confirmed (0 of 24 hours)." in page
    assert "No client information" in page
    assert "Lee Park, LMFT" in page


def test_logging_by_the_form_stores_the_entry_and_mails_the_consultant(
    client, login, make_user, consultant, session, catalog
):
    login(client, make_user())
    response = client.post("/training/consultations", data=_form(consultant))
    assert response.status_code == 303
    assert _count(session) == 1
    mail = session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "lee@consult.test")
    )
    assert "/training/respond#" in mail.text_body
    page = client.get("/training/consultations").get_data(as_text=True)
    assert "Awaiting the consultant" in page and "awaiting_confirmation" not in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"held_on": "FUTURE"}, "in the future"),
        ({"hours": "25"}, "at most 24 hours"),
        ({"consultant_id": "999999"}, "approved list"),
    ],
)
def test_bad_input_answers_with_the_reason_and_stores_nothing(
    client, login, make_user, consultant, session, catalog, overrides, message
):
    if overrides.get("held_on") == "FUTURE":
        overrides = {"held_on": (programme_today() + timedelta(days=1)).isoformat()}
    login(client, make_user())
    response = client.post("/training/consultations", data=_form(consultant, **overrides))
    assert response.status_code in (409, 422)
    assert message in response.get_data(as_text=True)
    assert _count(session) == 0


def test_a_duplicate_is_refused(client, login, make_user, consultant, session, catalog):
    login(client, make_user())
    assert client.post("/training/consultations", data=_form(consultant)).status_code == 303
    again = client.post("/training/consultations", data=_form(consultant))
    assert again.status_code == 409 and "already logged" in again.get_data(as_text=True)
    assert _count(session) == 1


def test_a_post_without_the_csrf_token_is_refused(app_config, make_user, consultant, session):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        client = app.test_client()
        user = make_user()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = user.get_id()
        assert client.post("/training/consultations", data=_form(consultant)).status_code == 400
    finally:
        app.extensions["lms"].db.engine.dispose()
    assert _count(session) == 0


def _logged(app, session, user, consultant):
    """An entry logged by the service, and its consultant's code."""
    with app.test_request_context():
        entry = log.log_consultation(
            session,
            user,
            log.ConsultationInput(programme_today(), consultant.id, "group_consultation", "2"),
        )
        session.commit()
        return entry, log.response_code(entry)


def test_the_consultant_follows_the_link_and_confirms(app, client, make_user, consultant, session):
    clinician = make_user(name="Robin Hale")
    entry, code = _logged(app, session, clinician, consultant)
    opened = client.get("/training/respond")
    assert opened.status_code == 200 and "data-link-code" in opened.get_data(as_text=True)
    kept = client.post("/training/respond/open", data={"code": f"http://lms.test/x#{code}"})
    assert kept.status_code == 303 and code not in kept.headers["Location"]
    page = client.get("/training/respond").get_data(as_text=True)
    assert "Robin Hale" in page and "Confirm" in page
    done = client.post("/training/respond", data={"answer": "confirm"})
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Consultation, entry.id).state == ConsultationState.CONFIRMED
    assert "nothing more is needed" in client.get("/training/respond").get_data(as_text=True)


def test_declining_by_the_link_needs_a_comment(app, client, make_user, consultant, session):
    entry, code = _logged(app, session, make_user(), consultant)
    client.post("/training/respond/open", data={"code": code})
    refused = client.post("/training/respond", data={"answer": "decline", "comment": ""})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    client.post("/training/respond", data={"answer": "decline", "comment": "Wrong date"})
    session.expire_all()
    found = session.get(Consultation, entry.id)
    assert found.state == ConsultationState.DECLINED and found.comment == "Wrong date"


def test_a_tampered_link_opens_nothing(app, client, make_user, consultant, session):
    entry, code = _logged(app, session, make_user(), consultant)
    client.post("/training/respond/open", data={"code": code[:-4] + "AAAA"})
    page = client.get("/training/respond")
    assert page.status_code == 422 and "not valid" in page.get_data(as_text=True)
    assert client.post("/training/respond", data={"answer": "confirm"}).status_code == 400
    session.expire_all()
    assert session.get(Consultation, entry.id).state == ConsultationState.AWAITING


def test_staff_void_an_entry_from_the_persons_log(
    app, client, login, make_user, consultant, session
):
    clinician = make_user()
    entry, _code = _logged(app, session, clinician, consultant)
    login(client, make_user(Role.INSTRUCTOR))
    page = client.get(f"/training/people/{clinician.id}/consultations").get_data(as_text=True)
    assert "Void" in page
    refused = client.post(f"/training/consultations/{entry.id}/void", data={"reason": ""})
    assert refused.status_code == 422
    # A NUL (which PostgreSQL's text cannot hold) is refused by the form, not by the database.
    nul = client.post(f"/training/consultations/{entry.id}/void", data={"reason": "a\x00b"})
    assert nul.status_code == 422
    session.expire_all()
    assert session.get(Consultation, entry.id).state == ConsultationState.AWAITING
    client.post(f"/training/consultations/{entry.id}/void", data={"reason": "Entered twice"})
    session.expire_all()
    assert session.get(Consultation, entry.id).state == ConsultationState.VOIDED


def test_the_admin_adds_edits_and_retires_a_consultant(client, login, make_user, session):
    login(client, make_user(Role.ADMIN))
    data = {
        "name": "Ari Novak",
        "credentials": "PsyD",
        "email": "ari@consult.test",
        "approved_on": programme_today().isoformat(),
    }
    assert client.post("/training/consultants", data=data).status_code == 303
    duplicate = client.post("/training/consultants", data=data)
    assert duplicate.status_code == 409 and "already on the list" in duplicate.get_data(
        as_text=True
    )
    bad = client.post("/training/consultants", data={**data, "email": "not an address"})
    assert bad.status_code == 422
    found = session.scalar(select(Consultant).where(Consultant.email == "ari@consult.test"))
    edited = client.post(f"/training/consultants/{found.id}", data={**data, "credentials": "PhD"})
    assert edited.status_code == 303
    assert client.post(f"/training/consultants/{found.id}/retire").status_code == 303
    session.expire_all()
    found = session.get(Consultant, found.id)
    assert found.credentials == "PhD" and found.retired_on == programme_today()
    assert re.search(r"off the list", client.get("/training/consultants").get_data(as_text=True))


def test_a_consultant_with_an_account_answers_only_their_own_entries(
    app, client, login, make_user, consultant, session
):
    mine, _code = _logged(app, session, make_user(name="Kim Ode"), consultant)
    other_consultant = approved_list.add_consultant(
        session,
        approved_list.ConsultantInput("Jo Banks", "", "jo@consult.test", programme_today()),
        actor_id=make_user(Role.ADMIN).id,
    )
    session.commit()
    theirs, _ = _logged(app, session, make_user(), other_consultant)
    login(client, make_user(Role.CONSULTANT, email="lee@consult.test", licensed=False))
    page = client.get("/training/to-confirm").get_data(as_text=True)
    assert "Kim Ode" in page and page.count("Confirm</button>") == 1
    assert client.post(f"/training/to-confirm/{theirs.id}").status_code == 404
    refused = client.post(f"/training/to-confirm/{mine.id}", data={"answer": "decline"})
    assert refused.status_code == 302  # back to the page, with the reason flashed
    nul = {"answer": "decline", "comment": "a\x00b"}
    assert client.post(f"/training/to-confirm/{mine.id}", data=nul).status_code == 302
    assert (
        client.post(f"/training/to-confirm/{mine.id}", data={"answer": "confirm"}).status_code
        == 303
    )
    session.expire_all()
    assert session.get(Consultation, mine.id).state == ConsultationState.CONFIRMED
    assert session.get(Consultation, theirs.id).state == ConsultationState.AWAITING


def test_the_consultant_page_is_refused_without_the_role(client, login, make_user):
    login(client, make_user())
    assert client.get("/training/to-confirm").status_code == 403

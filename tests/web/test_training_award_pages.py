"""The award page (staff confirm; refused with what is missing while unmet) and the opt-in
public directory of certified practitioners: off by default, a holder lists themself from the
account page, the page shows name, credentials, city, state and the verify link and nothing
else; search, paging, opting out, a revoked award and erasure take a person out at once."""

from __future__ import annotations

import pytest
from award_support import build_met_candidate, hold_credential
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.certificates import services as certificates
from lms.certificates.models import Certificate
from lms.db import db
from lms.programme import PRACTITIONER_DIRECTORY, ProgrammeSetting
from lms.training import directory
from lms.training.models import Candidate, DirectoryListing

pytestmark = pytest.mark.usefixtures("catalog")


def _award_certificates(session) -> int:
    """How many award certificates exist."""
    return session.scalar(
        select(func.count()).select_from(Certificate).where(Certificate.credential_id.is_not(None))
    )


def _open_directory(session) -> None:
    """The admin's switch, on."""
    session.merge(ProgrammeSetting(key=PRACTITIONER_DIRECTORY, value=True))
    session.commit()


def test_the_award_page_shows_what_is_missing_and_refuses_an_unmet_award(
    client, session, make_user, login
):
    clinician = make_user(name="Una Unmet")
    login(client, make_user(Role.INSTRUCTOR))
    page = client.get(f"/training/people/{clinician.id}/award")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "0 of 12 group consultations confirmed" in body and 'name="confirm"' not in body
    refused = client.post(f"/training/people/{clinician.id}/award", data={"confirm": "y"})
    assert refused.status_code == 409
    assert "Not awarded" in refused.get_data(as_text=True)
    assert _award_certificates(session) == 0
    candidate = session.scalar(select(Candidate).where(Candidate.user_id == clinician.id))
    assert candidate is None or candidate.awarded_at is None


def test_staff_confirm_the_award_of_a_met_candidate_once(app, client, session, make_user, login):
    clinician, instructor = build_met_candidate(app, session, make_user)
    login(client, instructor)
    url = f"/training/people/{clinician.id}/award"
    assert 'name="confirm"' in client.get(url).get_data(as_text=True)
    unconfirmed = client.post(url, data={})
    assert unconfirmed.status_code == 422 and _award_certificates(session) == 0
    awarded = client.post(url, data={"confirm": "y"})
    assert awarded.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Awarded" in page and instructor.name in page
    assert client.post(url, data={"confirm": "y"}).status_code == 409
    assert _award_certificates(session) == 1
    record = client.get(f"/clinicians/{clinician.id}").get_data(as_text=True)
    assert url in record


def test_a_clinician_cannot_open_or_post_the_award(client, session, make_user, login):
    clinician = make_user()
    login(client, clinician)
    assert client.get(f"/training/people/{clinician.id}/award").status_code == 403
    assert (
        client.post(f"/training/people/{clinician.id}/award", data={"confirm": "y"}).status_code
        == 403
    )
    assert _award_certificates(session) == 0


def test_the_directory_is_off_by_default_and_lists_nobody(app, client, session, make_user):
    holder = make_user(name="Hana Holder")
    hold_credential(app, session, holder, make_user(Role.ADMIN))
    body = client.get("/directory").get_data(as_text=True)
    assert "has not published a directory" in body and "Hana Holder" not in body
    assert session.scalar(select(func.count()).select_from(DirectoryListing)) == 0
    assert "/directory" not in client.get("/verify").get_data(as_text=True)


def test_the_verify_page_leads_to_the_published_directory(client, session):
    _open_directory(session)
    page = client.get("/verify").get_data(as_text=True)
    assert "Find a certified practitioner" in page and 'href="/directory"' in page


def test_a_holder_opts_in_from_the_account_page_and_shows_only_what_is_allowed(
    app, client, session, make_user, login
):
    _open_directory(session)
    holder = make_user(name="Hana Holder", credentials="LMFT", licence_number="LIC-77231")
    certificate_id = hold_credential(app, session, holder, make_user(Role.ADMIN))
    code = session.get(Certificate, certificate_id).code
    login(client, holder)
    account = client.get("/account").get_data(as_text=True)
    assert "List me in the directory" in account and "program's public directory" in account
    listed = client.post("/account/directory", data={"city": "Portland", "state": "OR"})
    assert listed.status_code == 303
    account = client.get("/account").get_data(as_text=True)
    assert "Portland, OR" in account and "no license number" in account
    page = app.test_client().get("/directory").get_data(as_text=True)
    assert "Hana Holder" in page and "LMFT" in page and "Portland" in page
    assert f"/verify/{code}" in page
    assert holder.email not in page and "LIC-77231" not in page
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "directory.opted_in"))
    assert event.person_id == holder.id and event.facts == {}
    # Out at once.
    assert client.post("/account/directory/remove").status_code == 303
    assert "Hana Holder" not in app.test_client().get("/directory").get_data(as_text=True)
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "directory.opted_out"))


def test_only_a_holder_may_be_listed_and_bad_input_stores_nothing(
    app, client, session, make_user, login
):
    _open_directory(session)
    clinician = make_user()
    login(client, clinician)
    assert "List me in the directory" not in client.get("/account").get_data(as_text=True)
    client.post("/account/directory", data={"city": "Portland", "state": "OR"})
    holder = make_user()
    hold_credential(app, session, holder, make_user(Role.ADMIN))
    login(client, holder)
    client.post("/account/directory", data={"city": "", "state": "OR"})
    client.post("/account/directory", data={"city": "x" * 101, "state": "OR"})
    assert session.scalar(select(func.count()).select_from(DirectoryListing)) == 0


def test_search_by_name_and_state_and_paging_in_a_constant_number_of_queries(
    app, client, session, make_user, monkeypatch, count_queries
):
    _open_directory(session)
    admin = make_user(Role.ADMIN)
    counted = []
    for name, state in (("Ada North", "OR"), ("Ben South", "CA"), ("Cy West", "CA")):
        person = make_user(name=name)
        hold_credential(app, session, person, admin)
        with app.test_request_context():
            directory.opt_in(session, person, city="Somewhere", state=state)
            db.commit()
        with count_queries() as statements:
            assert client.get("/directory").status_code == 200
        counted.append(len(statements))
    assert counted[0] == counted[-1]
    by_name = client.get("/directory?q=north").get_data(as_text=True)
    assert "Ada North" in by_name and "Ben South" not in by_name
    by_state = client.get("/directory?state=CA").get_data(as_text=True)
    assert "Ben South" in by_state and "Cy West" in by_state and "Ada North" not in by_state
    monkeypatch.setattr(directory, "PER_PAGE", 2)
    first = client.get("/directory").get_data(as_text=True)
    second = client.get("/directory?page=2").get_data(as_text=True)
    assert "Ada North" in first and "Ben South" in first and "Cy West" not in first
    assert "Cy West" in second and "Ada North" not in second


def test_a_revoked_award_leaves_the_directory_at_once(app, client, session, make_user):
    _open_directory(session)
    admin = make_user(Role.ADMIN)
    holder = make_user(name="Hana Holder")
    certificate_id = hold_credential(app, session, holder, admin)
    with app.test_request_context():
        directory.opt_in(session, holder, city="Portland", state="OR")
        db.commit()
        certificates.revoke_certificate(
            session, certificate_id, actor_id=admin.id, reason="Awarded in error"
        )
        db.commit()
    assert "Hana Holder" not in client.get("/directory").get_data(as_text=True)
    assert session.get(DirectoryListing, holder.id) is None


def test_erasure_removes_the_listing(app, client, session, make_user, login):
    _open_directory(session)
    admin = make_user(Role.ADMIN)
    holder = make_user(name="Hana Holder")
    hold_credential(app, session, holder, admin)
    login(client, holder)
    client.post("/account/directory", data={"city": "Portland", "state": "OR"})
    assert client.post("/account/deletion").status_code == 302
    login(client, admin)
    assert client.post(f"/admin/deletions/{holder.id}").status_code == 302
    session.expire_all()
    assert session.get(DirectoryListing, holder.id) is None
    assert "Hana Holder" not in app.test_client().get("/directory").get_data(as_text=True)


def test_the_admin_turns_the_directory_on_in_the_programme_settings(session, catalog):
    assert directory.directory_open(session) is False
    _open_directory(session)
    assert directory.directory_open(session) is True

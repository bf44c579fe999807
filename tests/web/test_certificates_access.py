"""Downloads and the admin list: who may get which certificate, stored bytes, constant queries."""

from __future__ import annotations

import hashlib

import pytest
from certificates_support import certificates_for, pdf_text, record

from lms.auth.models import Role
from lms.certificates import base, render, services
from lms.certificates.models import Certificate
from lms.db import db


@pytest.fixture
def owner(make_user, catalog):  # noqa: ANN001, ANN201
    """A clinician who holds certificates."""
    return make_user(Role.CLINICIAN, name="Olive Owner")


@pytest.fixture
def certificate(session, owner) -> Certificate:
    """Olive's committed Module 1 certificate."""
    completion = record(session, owner.id, "M1")
    db.commit()
    return certificates_for(session, completion.id)[0]


def test_marking_a_module_in_the_browser_issues_the_certificate_in_that_request(
    client, login, session, make_user, owner
) -> None:
    """Marking a module in the browser issues the certificate in that request."""
    instructor = make_user(Role.INSTRUCTOR)
    login(client, instructor)
    response = client.post(
        f"/clinicians/{owner.id}/completions",
        data={"item_code": "M1", "completed_on": "2025-03-14", "note": ""},
    )
    assert response.status_code == 302
    session.expire_all()
    rows = services.certificates_of(session, owner.id)
    assert len(rows) == 1 and rows[0].item_code == "M1"


def test_owner_downloads_the_stored_bytes_without_a_render(
    client, login, owner, certificate, monkeypatch
) -> None:
    """Owner downloads the stored bytes without a render."""

    def refuse(*_args: object, **_kwargs: object) -> bytes:
        """Fail the test if anything renders."""
        raise AssertionError("a download must not render")

    monkeypatch.setattr(render, "render_with_weasyprint", refuse)
    monkeypatch.setattr(base, "render_pdf", refuse)
    login(client, owner)
    response = client.get(f"/certificates/{certificate.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == certificate.sha256
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename={certificate.serial}-M1.pdf" in disposition
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.ADMIN])
def test_staff_download_anyones_certificate(client, login, make_user, certificate, role) -> None:
    """Staff download anyones certificate."""
    login(client, make_user(role))
    assert client.get(f"/certificates/{certificate.id}.pdf").status_code == 200


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.MEDICAL_REVIEWER])
def test_other_people_get_404_for_someone_elses_certificate_and_transcript(
    client, login, make_user, owner, certificate, role
) -> None:
    """Other people get 404 for someone elses certificate and transcript."""
    login(client, make_user(role))
    assert client.get(f"/certificates/{certificate.id}.pdf").status_code == 404
    assert client.get(f"/people/{owner.id}/transcript.pdf").status_code == 404
    assert client.get(f"/people/{owner.id}/certificates").status_code == 404


def test_guests_are_sent_to_sign_in(client, owner, certificate) -> None:
    """Guests are sent to sign in."""
    for url in (
        f"/certificates/{certificate.id}.pdf",
        f"/people/{owner.id}/transcript.pdf",
        f"/people/{owner.id}/certificates",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_certificate_is_404(client, login, make_user) -> None:
    """Unknown certificate is 404."""
    login(client, make_user(Role.ADMIN))
    assert client.get("/certificates/999999.pdf").status_code == 404


def test_owner_downloads_a_transcript_rendered_now(client, login, owner, certificate) -> None:
    """Owner downloads a transcript rendered now."""
    login(client, owner)
    response = client.get(f"/people/{owner.id}/transcript.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response.data)
    assert "Olive Owner" in text and certificate.serial in text


def test_person_page_lists_certificates_for_the_holder(client, login, owner, certificate) -> None:
    """Person page lists certificates for the holder."""
    login(client, owner)
    html = client.get(f"/people/{owner.id}/certificates").get_data(as_text=True)
    assert certificate.serial in html and f"/certificates/{certificate.id}.pdf" in html


def test_dashboard_links_each_certificate_beside_its_item_and_all_of_them_with_the_transcript(
    client, login, owner, certificate
) -> None:
    """The certificate stands beside Module 1; the records line links to the certificates page
    (every certificate, revoked ones too) and to the transcript."""
    login(client, owner)
    html = client.get("/").get_data(as_text=True)
    assert html.count(f"/certificates/{certificate.id}.pdf") == 1
    assert f'<a href="/people/{owner.id}/certificates">Certificates</a>' in html
    assert f'<a href="/people/{owner.id}/transcript.pdf">Transcript (PDF)</a>' in html


def test_dashboard_of_someone_without_certificates_links_to_neither_list_nor_transcript(
    client, login, make_user
) -> None:
    """No certificate yet: no list, no transcript (and, with nothing recorded at all, no
    records line: the history would be empty)."""
    newcomer = make_user(Role.CLINICIAN)
    login(client, newcomer)
    html = client.get("/").get_data(as_text=True)
    assert "Your records" not in html and "Completion history" not in html
    assert '/certificates"' not in html and "transcript.pdf" not in html


def test_a_revoked_certificate_stands_beside_nothing_but_keeps_the_records_links(
    client, login, owner, certificate, session
) -> None:
    """Revoked: no download beside the item, still listed on the certificates page."""
    from lms.db import utcnow

    certificate.revoked_at = utcnow()
    certificate.revoke_reason = "Issued in error"
    session.commit()
    login(client, owner)
    html = client.get("/").get_data(as_text=True)
    assert f"/certificates/{certificate.id}.pdf" not in html
    assert f'<a href="/people/{owner.id}/certificates">Certificates</a>' in html


def test_admin_list_searches_by_name_serial_and_code(
    client, login, make_user, session, certificate
) -> None:
    """Admin list searches by name serial and code."""
    other = make_user(Role.CLINICIAN, name="Bruno Other")
    record(session, other.id, "M1")
    db.commit()
    login(client, make_user(Role.ADMIN))
    for query in ("olive", certificate.serial.lower(), certificate.code.lower().replace("-", "")):
        html = client.get("/admin/certificates", query_string={"q": query}).get_data(as_text=True)
        assert "Olive Owner" in html and "Bruno Other" not in html, query
    everyone = client.get("/admin/certificates").get_data(as_text=True)
    assert "Olive Owner" in everyone and "Bruno Other" in everyone


def test_admin_list_runs_a_constant_number_of_queries(
    client, login, make_user, session, engine, catalog, count_queries
) -> None:
    """Admin list runs a constant number of queries."""
    login(client, make_user(Role.ADMIN))
    person = make_user(Role.CLINICIAN)
    record(session, person.id, "M1")
    db.commit()
    client.get("/admin/certificates")  # after-commit work of the setup (mail) runs here
    with count_queries() as few:
        assert client.get("/admin/certificates").status_code == 200
    for code in ("M2", "M3", "M4", "HTH"):
        record(session, person.id, code)
    db.commit()
    client.get("/admin/certificates")
    with count_queries() as many:
        assert client.get("/admin/certificates").status_code == 200
    assert len(many) == len(few), "\n".join(s[:90] for s in many)


def test_admin_revokes_and_reissues_from_the_list(
    client, login, make_user, session, certificate
) -> None:
    """Admin revokes and reissues from the list."""
    login(client, make_user(Role.ADMIN))
    reissued = client.post(f"/admin/certificates/{certificate.id}/reissue")
    assert reissued.status_code == 302
    session.expire_all()
    new = session.get(Certificate, certificate.id).superseded_by
    assert new is not None and new.code != certificate.code
    missing_reason = client.post(f"/admin/certificates/{new.id}/revoke", data={"reason": ""})
    assert missing_reason.status_code == 302
    session.expire_all()
    assert session.get(Certificate, new.id).revoked_at is None
    revoked = client.post(f"/admin/certificates/{new.id}/revoke", data={"reason": "Fraudulent"})
    assert revoked.status_code == 302
    session.expire_all()
    assert session.get(Certificate, new.id).revoke_reason == "Fraudulent"
    page = client.get(f"/verify/{new.code}").get_data(as_text=True)
    assert "Revoked" in page and "Fraudulent" in page


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.INSTRUCTOR, Role.MEDICAL_REVIEWER])
def test_only_admins_reach_the_certificate_list_and_actions(
    client, login, make_user, certificate, role
) -> None:
    """Only admins reach the certificate list and actions."""
    login(client, make_user(role))
    assert client.get("/admin/certificates").status_code == 403
    assert (
        client.post(
            f"/admin/certificates/{certificate.id}/revoke", data={"reason": "x"}
        ).status_code
        == 403
    )
    assert client.post(f"/admin/certificates/{certificate.id}/reissue").status_code == 403


def test_clinician_record_page_links_to_certificates_and_transcript(
    client, login, make_user, owner, certificate
) -> None:
    """Clinician record page links to certificates and transcript."""
    login(client, make_user(Role.INSTRUCTOR))
    html = client.get(f"/clinicians/{owner.id}").get_data(as_text=True)
    assert f"/people/{owner.id}/certificates" in html
    assert f"/people/{owner.id}/transcript.pdf" in html
    listing = client.get(f"/people/{owner.id}/certificates").get_data(as_text=True)
    assert f"/certificates/{certificate.id}.pdf" in listing


@pytest.fixture
def pending(queue_in_instance, session, owner) -> Certificate:
    """Olive's Module 1 certificate, recorded and committed, its render job still queued.

    Ask for it first: the queue setting must be in place before the app is built.
    """
    completion = record(session, owner.id, "M1")
    db.commit()  # enqueued into the SQLite queue; no consumer runs in this test
    (certificate,) = certificates_for(session, completion.id)
    session.commit()
    assert certificate.pdf is None
    return certificate


def test_downloading_a_certificate_being_prepared_answers_202_with_a_page_that_reloads(
    pending, client, login, owner
) -> None:
    """Before its PDF is stored the download is 202 with a friendly page, never 404 or 500."""
    login(client, owner)
    response = client.get(f"/certificates/{pending.id}.pdf")
    assert response.status_code == 202
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "being prepared" in html and pending.serial in html
    assert '<meta http-equiv="refresh" content="5">' in html


def test_pages_say_being_prepared_until_the_pdf_is_stored(
    pending, client, login, make_user, owner
) -> None:
    """Dashboard, the holder's list and the staff list say so, and link no download yet."""
    login(client, owner)
    dashboard = client.get("/").get_data(as_text=True)
    assert "Certificate being prepared" in dashboard
    assert f"/certificates/{pending.id}.pdf" not in dashboard
    mine = client.get(f"/people/{owner.id}/certificates").get_data(as_text=True)
    assert "Being prepared" in mine and f"/certificates/{pending.id}.pdf" not in mine
    login(client, make_user(Role.ADMIN))
    staff = client.get("/admin/certificates").get_data(as_text=True)
    assert "Being prepared" in staff


def test_the_verify_page_of_a_certificate_being_prepared_says_not_yet_issued(
    pending, client
) -> None:
    """Verification states who/what/when and that it is not issued yet, nothing more."""
    html = client.get(f"/verify/{pending.code}").get_data(as_text=True)
    assert "being prepared" in html and "not yet issued" in html
    assert "Olive Owner" in html

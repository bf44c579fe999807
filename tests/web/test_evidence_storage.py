"""Evidence through the file store, on the local folder and on S3 (moto's server): upload,
download after the access check, erasure and the sweep; a missing file is a clear 404, and a
store that is down is a quick 503 that records nothing."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from clock_support import programme_today
from retreats_support import PDF_BYTES
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.auth.privacy import carry_out_deletion, request_deletion
from lms.clock import utcnow
from lms.db import db
from lms.equivalency import services
from lms.equivalency.models import EquivalencyRequest
from lms.equivalency.sweep import sweep_unreferenced_evidence
from lms.storage import LocalStorage, StorageUnavailable, new_key, store, stores


def _form(content=PDF_BYTES, filename="ktc-certificate.pdf"):
    """The request form as a browser posts it."""
    return {
        "item_code": "M1",
        "programme": "KTC",
        "programme_other": "",
        "attended_from": (programme_today() - timedelta(days=100)).isoformat(),
        "attended_to": (programme_today() - timedelta(days=98)).isoformat(),
        "hours": "16",
        "description": "Three-day introductory KAP training with KTC.",
        "evidence": (io.BytesIO(content), filename),
    }


def _request_input():
    """The same request, as the service takes it."""
    return services.RequestInput(
        item_code="M1",
        outside_programme="KTC",
        attended_from=programme_today() - timedelta(days=100),
        attended_to=programme_today() - timedelta(days=98),
        hours=None,
        description="Three-day introductory KAP training with KTC.",
    )


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


def _upload(client):
    """Post the form; the request it made."""
    response = client.post("/equivalency/new", data=_form(), content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    return db.session.scalar(select(EquivalencyRequest).order_by(EquivalencyRequest.id.desc()))


def test_uploaded_evidence_is_served_by_the_app_to_its_owner_and_reviewers_only(
    storage_backend, app, session, as_clinician, make_user, login
):
    request = _upload(as_clinician)
    evidence = store("evidence", app)
    assert [found.key for found in evidence.listing()] == [request.evidence_key]

    response = as_clinician.get(f"/equivalency/{request.id}/evidence")
    assert response.status_code == 200 and response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=evidence-request-{request.id}.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"

    stranger = login(app.test_client(), make_user(Role.CLINICIAN))
    assert stranger.get(f"/equivalency/{request.id}/evidence").status_code == 404
    reviewer = login(app.test_client(), make_user(Role.INSTRUCTOR))
    assert reviewer.get(f"/equivalency/{request.id}/evidence").data == PDF_BYTES


def test_a_file_missing_from_the_store_is_a_404_that_says_so(
    storage_backend, app, session, as_clinician
):
    request = _upload(as_clinician)
    store("evidence", app).delete(request.evidence_key)  # lost outside the app
    response = as_clinician.get(f"/equivalency/{request.id}/evidence")
    assert response.status_code == 404
    assert "missing from storage; ask an administrator" in response.text


def test_erasure_deletes_the_evidence_from_the_store(
    storage_backend, app, session, clinician, as_clinician, make_user
):
    key = _upload(as_clinician).evidence_key
    evidence = store("evidence", app)
    assert evidence.exists(key)
    request_deletion(session, clinician)
    session.commit()
    carry_out_deletion(session, clinician.id, actor=make_user(Role.ADMIN), files=stores(app))
    db.commit()  # the files go once the deletion has committed
    assert not evidence.exists(key)
    assert list(evidence.listing()) == []


def test_with_the_store_down_an_upload_says_so_quickly_and_records_nothing(
    store_down, app, session, as_clinician
):
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    started = time.monotonic()
    response = as_clinician.post(
        "/equivalency/new", data=_form(), content_type="multipart/form-data"
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert "the file was not saved and nothing was recorded" in response.text
    assert "Three-day introductory KAP training with KTC." in response.text  # form kept
    assert _requests(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_with_the_store_down_a_download_answers_503_quickly(
    store_down, app, session, clinician, as_clinician, tmp_path
):
    # The request and its file were stored while the store answered (here, in a folder).
    request = services.submit_request(
        session,
        user_id=clinician.id,
        data=_request_input(),
        evidence_store=LocalStorage(tmp_path / "then", "evidence"),
        evidence_stream=io.BytesIO(PDF_BYTES),
        evidence_filename="certificate.pdf",
    )
    session.commit()
    started = time.monotonic()
    response = as_clinician.get(f"/equivalency/{request.id}/evidence")
    assert time.monotonic() - started < 2
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "cannot be downloaded just now" in response.text
    assert "Service unavailable" in response.text
    assert as_clinician.get(f"/equivalency/{request.id}").status_code == 200  # the rest works


def test_a_row_that_cannot_be_written_takes_its_file_back(
    storage_backend, app, session, clinician, monkeypatch
):
    evidence = store("evidence", app)
    services.submit_request(
        session,
        user_id=clinician.id,
        data=_request_input(),
        evidence_store=evidence,
        evidence_stream=io.BytesIO(PDF_BYTES),
        evidence_filename="certificate.pdf",
    )
    session.commit()
    # A racer got there first: the early check passes, the unique index refuses the row.
    monkeypatch.setattr(services, "_refuse_live_duplicate", lambda *args: None)
    with pytest.raises(services.Conflict):
        services.submit_request(
            session,
            user_id=clinician.id,
            data=_request_input(),
            evidence_store=evidence,
            evidence_stream=io.BytesIO(PDF_BYTES),
            evidence_filename="certificate.pdf",
        )
    session.rollback()
    assert _requests(session) == 1 and len(list(evidence.listing())) == 1


def test_the_sweep_removes_old_files_no_request_names_and_keeps_the_rest(
    storage_backend, app, session, as_clinician
):
    request = _upload(as_clinician)
    evidence = store("evidence", app)
    orphan = new_key("pdf")
    evidence.put(orphan, PDF_BYTES, "application/pdf")
    assert sweep_unreferenced_evidence(session, evidence, before=utcnow() - timedelta(hours=1)) == 0
    assert evidence.exists(orphan)  # younger than the grace: perhaps an upload not yet committed
    assert (
        sweep_unreferenced_evidence(session, evidence, before=utcnow() + timedelta(minutes=1)) == 1
    )
    assert [found.key for found in evidence.listing()] == [request.evidence_key]


def test_a_file_the_erasure_could_not_delete_is_swept_later(
    storage_backend, app, session, clinician, as_clinician, make_user, monkeypatch, caplog
):
    key = _upload(as_clinician).evidence_key
    evidence = store("evidence", app)
    request_deletion(session, clinician)
    session.commit()

    def down(key):
        raise StorageUnavailable("The file store did not answer, so the file was not deleted.")

    with monkeypatch.context() as outage:
        outage.setattr(evidence, "delete", down)
        carry_out_deletion(session, clinician.id, actor=make_user(Role.ADMIN), files=stores(app))
        db.commit()  # the erasure stands; the file waits
    assert evidence.exists(key)
    assert "left in" in caplog.text and "for the sweep" in caplog.text
    swept = app.extensions["lms"].jobs.run("sweep_evidence")  # the hourly job, as it runs
    assert swept == 0  # within the grace period
    assert sweep_unreferenced_evidence(session, evidence, before=utcnow() + timedelta(minutes=1))
    assert not evidence.exists(key)

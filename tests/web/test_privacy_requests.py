"""Privacy: the person's data export, their deletion request, and an admin carrying it out."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from clock_support import programme_today
from facts_support import facts_changed
from retreats_support import PDF_BYTES, add_session, screening
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth import privacy
from lms.auth.models import Role, User
from lms.catalog.models import ProgrammeSetting
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.equivalency.evidence import store_evidence
from lms.equivalency.models import EquivalencyRequest
from lms.mail.models import Notification
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.progress.models import Completion, CompletionSource
from lms.retreats.models import Screening
from lms.retreats.screening import encrypt_screening
from lms.storage import store, stores

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
HEALTH_MARKER = "HEALTH-DETAIL-MARKER"
CERT_PDF = b"%PDF-1.7 certificate of Clara Clinician"


@pytest.fixture
def clara(app, session, make_user, catalog):
    """A clinician with a completion, certificate, equivalency request and retreat application."""
    user = make_user(name="Clara Clinician", credentials="PsyD", licence_number="PSY 4242")
    items = catalog
    completion = Completion(
        user_id=user.id,
        item_id=items["M1"].id,
        completed_on=programme_today() - timedelta(days=40),
        source=CompletionSource.INSTRUCTOR,
    )
    session.add(completion)
    facts_changed(session, user)
    session.add(
        Certificate(
            serial="KAP-TEST-0001",
            code="ABCDEFGHJKMNPQRS",
            user_id=user.id,
            item_id=items["M1"].id,
            completion_id=completion.id,
            design="module",
            content={"name": "Clara Clinician, PsyD", "licence": "PSY 4242", "title": "Module 1"},
            pdf=CERT_PDF,
            sha256=hashlib.sha256(CERT_PDF).hexdigest(),
        )
    )
    stored = store_evidence(store("evidence", app), io.BytesIO(PDF_BYTES), "proof.pdf")
    session.add(
        EquivalencyRequest(
            user_id=user.id,
            item_id=items["M2"].id,
            outside_programme="Elsewhere Institute",
            description="I took a course",
            evidence_name=stored.original_name,
            evidence_key=stored.key,
            evidence_type=stored.media_type,
            evidence_size=stored.size,
        )
    )
    retreat_session = add_session(session)
    application = Enrolment(
        user_id=user.id, offering_id=retreat_session.id, status=EnrolmentStatus.ENROLLED
    )
    session.add(application)
    facts_changed(session, user)
    answers = screening(yes=("sleep_apnea",), detail=HEALTH_MARKER)
    session.add(
        Screening(
            enrolment_id=application.id,
            answers_encrypted=encrypt_screening(KEY, answers),
            any_yes=True,
        )
    )
    session.add(Notification(user_id=user.id, kind="test", message="A notice"))
    session.commit()
    return user


def _zip(response) -> zipfile.ZipFile:
    """The downloaded archive."""
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_export_holds_my_data_and_pdfs_but_never_screening_answers(
    client, session, clara, make_user, login
):
    someone_else = make_user(name="Other Person")
    login(client, clara)
    assert client.get("/account/export").status_code == 405  # GET never writes an audit event
    response = client.post("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = _zip(response)
    assert archive.read("certificates/KAP-TEST-0001.pdf") == CERT_PDF
    data = json.loads(archive.read("data.json"))
    assert data["profile"]["name"] == "Clara Clinician"
    assert [c["item"] for c in data["completions"]] == ["M1"]
    assert data["equivalency_requests"][0]["outside_programme"] == "Elsewhere Institute"
    assert [a["status"] for a in data["retreat_applications"]["applications"]] == ["enrolled"]
    assert "never included" in data["retreat_applications"]["note"]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert HEALTH_MARKER.encode() not in everything
    assert b"sleep" not in everything.lower()
    assert someone_else.email.encode() not in everything
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "user.data_exported"))


def test_deletion_request_is_recorded_once(client, session, clara, login):
    login(client, clara)
    assert client.post("/account/deletion").status_code == 302
    again = client.post("/account/deletion", follow_redirects=True)
    assert "already asked" in again.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, clara.id).deletion_requested_at is not None
    assert (
        len(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "user.deletion_requested")
            ).all()
        )
        == 1
    )


def test_admin_deletion_removes_personal_data_and_keeps_anonymised_records(
    storage_backend, app, client, session, clara, make_user, login
):
    admin = make_user(Role.ADMIN)
    session.merge(ProgrammeSetting(key="retention_years", value=7))
    session.commit()
    login(client, clara)
    assert client.post("/account/deletion").status_code == 302  # she asks, as a person would
    request = session.scalar(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == clara.id)
    )
    evidence, key = store("evidence", app), request.evidence_key
    assert evidence.exists(key)
    session.commit()

    login(client, admin)
    listing = client.get("/admin/deletions").get_data(as_text=True)
    assert "Clara Clinician" in listing and "7 years" in listing
    assert client.post(f"/admin/deletions/{clara.id}").status_code == 302

    session.expire_all()
    gone = session.get(User, clara.id)
    assert gone.name == f"Deleted user #{clara.id}"
    assert gone.email == f"deleted-{clara.id}@invalid"
    assert gone.licence_number is None and gone.password_hash is None
    assert gone.anonymised_at is not None and not gone.is_active
    screening_row = session.scalar(select(Screening))
    assert screening_row.answers_encrypted is None and screening_row.purged_at is not None
    assert not evidence.exists(key)
    certificate = session.scalar(select(Certificate))
    assert certificate.sha256 == hashlib.sha256(CERT_PDF).hexdigest()
    assert certificate.content["name"] == f"Deleted user #{clara.id}"
    assert certificate.content["licence"] == f"Deleted user #{clara.id}"
    assert certificate.content["title"] == "Module 1"
    assert session.scalar(select(Completion.user_id)) == clara.id
    assert session.scalar(select(Enrolment.status)) == EnrolmentStatus.ENROLLED
    assert session.scalars(select(Notification)).all() == []
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.anonymised"))
    assert event.facts["evidence_files_removed"] == 1
    assert event.facts["retain_records_until"].startswith(str(programme_today().year + 7))
    # Earlier events stay; they point at the anonymised account.
    asked = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deletion_requested"))
    assert asked is not None and asked.person_id == gone.id


def test_deletion_refusals(client, session, clara, make_user, login):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    not_asked = client.post(f"/admin/deletions/{clara.id}")
    assert not_asked.status_code == 422
    assert "has not asked" in not_asked.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, clara.id).name == "Clara Clinician"

    clara = session.get(User, clara.id)
    clara.deletion_requested_at = utcnow()
    session.commit()
    login(client, make_user(Role.INSTRUCTOR))
    assert client.post(f"/admin/deletions/{clara.id}").status_code == 403
    assert client.get("/admin/deletions").status_code == 403
    login(client, admin)
    assert client.post(f"/admin/deletions/{clara.id}").status_code == 302
    assert client.post(f"/admin/deletions/{clara.id}").status_code == 409
    assert client.post("/admin/deletions/999999").status_code == 404


def test_deleted_person_cannot_sign_in(app, client, session, clara, make_user):
    admin = make_user(Role.ADMIN)
    clara.deletion_requested_at = utcnow()
    session.commit()
    email = clara.email
    privacy.carry_out_deletion(session, clara.id, actor=admin, files=stores(app))
    session.commit()
    response = client.post(
        "/login", data={"email": email, "password": "correct horse battery staple"}
    )
    assert "do not match an active account" in response.get_data(as_text=True)

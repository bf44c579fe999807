"""The award of the Certificate of Training: refused (nothing stored) while the requirement is
unmet, awarded once when it is met, audited; its certificate (own design, PDF, verify page,
Open Badge, transcript, notice and mail) and its revocation, which clears the award."""

from __future__ import annotations

import base64
import json

import pytest
from award_support import build_met_candidate
from certificates_support import pdf_text
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.auth.services import set_active
from lms.badges.models import CredentialStatus
from lms.certificates import services as certificates
from lms.certificates.models import Certificate
from lms.db import db
from lms.errors import AlreadyDecided, Conflict, Forbidden, PrerequisiteNotMet
from lms.mail.models import Notification, OutboxMessage
from lms.training.award import award_credential, award_state
from lms.training.models import Candidate

pytestmark = pytest.mark.usefixtures("catalog")


def _events(session, action):
    """The audit events of one action."""
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _payload(token: str) -> dict:
    """The JWT's payload (its signature is the badges tests' to check)."""
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


@pytest.fixture
def met(app, session, make_user):
    """A candidate who meets every part, and an instructor."""
    return build_met_candidate(app, session, make_user)


def _award(app, session, person, actor):
    """Award and commit (the render job runs at commit in tests)."""
    with app.test_request_context():
        certificate = award_credential(session, person.id, actor=actor)
        certificate_id = certificate.id
        db.commit()
    return session.get(Certificate, certificate_id, populate_existing=True)


def test_an_unmet_requirement_refuses_the_award_and_stores_nothing(app, session, make_user):
    clinician, instructor = build_met_candidate(app, session, make_user, skip_letter=True)
    with app.test_request_context(), pytest.raises(PrerequisiteNotMet) as refused:
        award_credential(session, clinician.id, actor=instructor)
    assert refused.value.status_code == 409
    assert "letter of recommendation" in refused.value.message.lower()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Certificate)) == len(
        session.scalars(select(Certificate.id).where(Certificate.completion_id.is_not(None))).all()
    )
    candidate = session.scalar(select(Candidate).where(Candidate.user_id == clinician.id))
    assert candidate is None or candidate.awarded_at is None
    assert _events(session, "credential.awarded") == []


def test_a_met_candidate_is_awarded_once_with_its_own_certificate(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    candidate = session.scalar(select(Candidate).where(Candidate.user_id == clinician.id))
    assert candidate.awarded_at is not None and candidate.awarded_by_id == instructor.id
    assert certificate.design == "training" and certificate.completion_id is None
    assert certificate.item_id is None and certificate.credential_id == candidate.credential_id
    assert certificate.rendered_at is not None and certificate.pdf.startswith(b"%PDF")
    (event,) = _events(session, "credential.awarded")
    assert event.actor_id == instructor.id and event.person_id == clinician.id
    assert event.facts["serial"] == certificate.serial
    with app.test_request_context(), pytest.raises(AlreadyDecided):
        award_credential(session, clinician.id, actor=instructor)
    session.rollback()
    assert (
        session.scalar(
            select(func.count())
            .select_from(Certificate)
            .where(Certificate.credential_id.is_not(None))
        )
        == 1
    )


def test_the_certificate_says_what_it_attests_with_serial_code_and_qr(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    text = pdf_text(certificate.pdf)
    assert "Certificate of Training" in text
    assert clinician.name in text
    assert "12 group consultations confirmed (24 hours)" in text
    assert "An approved reflection paper" in text
    assert certificate.serial in text and certificate.code in text
    assert f"/verify/{certificate.code}" in text
    assert (
        len(certificate.content["attests"]) == 11
        and "Module 1" in certificate.content["attests"][0]
    )
    assert certificate.content["ce_hours"] == "" and certificate.content["credits"] == []


def test_the_holder_is_told_and_the_transcript_lists_the_credential(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    notice = session.scalar(
        select(Notification).where(
            Notification.user_id == clinician.id,
            Notification.kind == "certificate_issued",
            Notification.message.contains(certificate.serial),
        )
    )
    assert notice is not None and "Certificate of Training" in notice.message
    mail = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_address == clinician.email,
            OutboxMessage.subject.contains("Certificate of Training"),
        )
    )
    assert mail is not None
    rows = certificates.transcript_rows(session, clinician.id)
    (award_row,) = [row for row in rows if row.serial == certificate.serial]
    assert award_row.title == "Certificate of Training" and award_row.ce_hours is None
    with app.test_request_context():
        text = pdf_text(certificates.transcript_pdf(session, clinician.id))
    assert "Certificate of Training" in text and certificate.serial in text


def test_the_verify_page_and_the_open_badge_state_the_award(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    client = app.test_client()
    page = client.get(f"/verify/{certificate.code}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Certificate of Training" in body and clinician.name in body and "Valid" in body
    assert "<dt>Awarded</dt>" in body and "<dt>Completed</dt>" not in body
    assert "<dt>Format</dt>" not in body  # a credential has no activity format
    assert clinician.email not in body and clinician.licence_number not in body
    badge = client.get(f"/verify/{certificate.code}/open-badge.jwt")
    assert badge.status_code == 200
    payload = _payload(badge.get_data(as_text=True))
    achievement = payload["credentialSubject"]["achievement"]
    assert achievement["name"] == "Certificate of Training"
    assert "12 group consultations confirmed (24 hours)" in achievement["criteria"]["narrative"]
    assert clinician.email not in json.dumps(payload)
    assert session.get(CredentialStatus, certificate.id) is not None


def test_revoking_the_certificate_clears_the_award_and_sets_the_badge_bit(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    with app.test_request_context():
        certificates.revoke_certificate(
            session, certificate.id, actor_id=instructor.id, reason="Awarded in error"
        )
        db.commit()
    candidate = session.scalar(select(Candidate).where(Candidate.user_id == clinician.id))
    assert candidate.awarded_at is None and candidate.awarded_by_id is None
    (event,) = _events(session, "credential.award_revoked")
    assert event.person_id == clinician.id and event.actor_id == instructor.id
    assert session.get(CredentialStatus, certificate.id).revoked_at is not None
    assert not award_state(session, clinician.id).awarded
    page = app.test_client().get(f"/verify/{certificate.code}")
    assert "Revoked" in page.get_data(as_text=True)
    # The award can be made again: a new certificate, the revoked one kept on record.
    again = _award(app, session, clinician, instructor)
    assert again.id != certificate.id and again.revoked_at is None


def test_a_reissue_of_an_award_certificate_is_refused(app, session, met):
    clinician, instructor = met
    certificate = _award(app, session, clinician, instructor)
    with app.test_request_context(), pytest.raises(Conflict, match="award"):
        certificates.reissue_certificate(session, certificate.id, actor_id=instructor.id)
    session.rollback()


def test_nobody_awards_themself(app, session, make_user):
    instructor = make_user(Role.INSTRUCTOR)
    with app.test_request_context(), pytest.raises(Forbidden):
        award_credential(session, instructor.id, actor=instructor)
    session.rollback()


def test_the_ready_queue_holds_a_met_candidate_until_the_award_and_again_after_a_revocation(
    app, session, met
):
    from lms.training.queues import ready_page

    clinician, instructor = met
    session.commit()

    def ready() -> list[int]:
        session.expire_all()
        found = [row.user_id for row in ready_page(session).items]
        session.commit()  # a reader syncs the kept rows first: end its write
        return found

    assert clinician.id in ready()  # kept by the facts' own events, no rebuild
    certificate = _award(app, session, clinician, instructor)
    assert clinician.id not in ready()
    with app.test_request_context():
        certificates.revoke_certificate(
            session, certificate.id, actor_id=instructor.id, reason="Awarded in error"
        )
        db.commit()
    assert clinician.id in ready()


def test_a_deactivated_account_is_neither_awarded_nor_queued(app, session, met, make_user):
    from lms.training.queues import ready_page

    clinician, instructor = met
    admin = make_user(Role.ADMIN)
    set_active(session, clinician, False, actor=admin)
    session.commit()
    with app.test_request_context(), pytest.raises(PrerequisiteNotMet) as refused:
        award_credential(session, clinician.id, actor=instructor)
    assert "deactivated" in refused.value.message
    session.rollback()
    assert clinician.id not in [row.user_id for row in ready_page(session).items]
    session.rollback()
    clinician = session.get(type(clinician), clinician.id)
    set_active(session, clinician, True, actor=admin)
    session.commit()
    assert clinician.id in [row.user_id for row in ready_page(session).items]
    session.commit()

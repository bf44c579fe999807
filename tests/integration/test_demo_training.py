"""The demo's Certificate of Training: approved consultants (one with an account) and a
candidate at every stage, each stage read back through the services pages use."""

from __future__ import annotations

import pytest
from clock_support import programme_today
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.auth.models import Role, User
from lms.auth.services import authenticate, find_user_by_email
from lms.catalog.api import window_closes_on
from lms.demo import CANDIDATES, CONSULTANTS
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.training import consultations as log
from lms.training import session_log
from lms.training.facts import training_facts
from lms.training.models import Consultant, Consultation, ConsultationState
from lms.training.records_models import DocumentKind, DocumentStatus, TrainingDocument, Uploader
from lms.training.requirement import requirements_of

PASSWORD = "demo password for the tests"
HOLDER = "samuel.osei@example.org"  # awarded, and listed in the directory


@pytest.fixture(autouse=True)
def quick_certificate_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates are still issued for every demo mark, with a stand-in PDF (rendering is
    the certificates feature's to test)."""
    monkeypatch.setattr(
        "lms.certificates.base.render_pdf",
        lambda design, content: b"%PDF-1.4\n% demo test stand-in\n%%EOF\n",
    )


@pytest.fixture
def demo(app: Flask, session: Session) -> None:
    """The demo data, made once with a known password."""
    result = app.test_cli_runner().invoke(args=["lms", "demo"], env={"LMS_DEMO_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    for person in CANDIDATES:
        assert person.email in result.output
    session.rollback()


def _user(session: Session, email: str) -> User:
    """The demo account with that address."""
    found = find_user_by_email(session, email)
    assert found is not None, email
    return found


def _line(session: Session, email: str, starts: str):
    """The candidate's requirement line that asks for `starts...`."""
    lines = requirements_of(session, _user(session, email)).lines
    return next(line for line in lines if line.asks.startswith(starts))


def _entries(session: Session, email: str) -> list[Consultation]:
    """The candidate's consultation log."""
    return log.own_consultations(session, _user(session, email).id)


def test_the_consultants_are_approved_and_one_signs_in_to_confirm(demo, session):
    emails = set(session.scalars(select(Consultant.email)))
    assert {c.email for c in CONSULTANTS} <= emails
    mira = authenticate(session, "mira.solis@example.org", PASSWORD)
    assert mira is not None and mira.roles == frozenset({Role.CONSULTANT})
    waiting = log.awaiting_for(session, mira)
    assert [e.user.email for e in waiting] == ["omar.farouk@example.org"] * 3


def test_just_started_has_one_confirmed_consultation(demo, session):
    (entry,) = _entries(session, "nora.kim@example.org")
    assert entry.state == ConsultationState.CONFIRMED
    line = _line(session, "nora.kim@example.org", "12 group")
    assert line.progress == "1 of 12 group consultations confirmed (2 of 24 hours)"


def test_awaiting_and_declined_consultations(demo, session):
    omar = [e.state for e in _entries(session, "omar.farouk@example.org")]
    assert omar.count(ConsultationState.AWAITING) == 3
    assert omar.count(ConsultationState.CONFIRMED) == 4
    julia = {e.state: e for e in _entries(session, "julia.weber@example.org")}
    assert set(julia) == {ConsultationState.DECLINED, ConsultationState.AWAITING}
    assert "Tuesday after" in julia[ConsultationState.DECLINED].comment


def test_sessions_logged_and_consultation_credit_pending(demo, session):
    kenji = _user(session, "kenji.sato@example.org")
    counts = session_log.counts_for(session, kenji.id)
    assert (counts.therapist_sessions, counts.co_therapist_sessions, counts.clients) == (12, 2, 3)
    (credit,) = session.scalars(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == kenji.id)
    )
    assert credit.status == EquivalencyStatus.PENDING and credit.item_id is None
    assert credit.counts_for == "3 individual consultations"


def test_documents_awaiting_review_and_with_changes_asked(demo, session):
    lucia = _user(session, "lucia.romero@example.org")
    documents = {
        d.kind: d
        for d in session.scalars(
            select(TrainingDocument).where(TrainingDocument.user_id == lucia.id)
        )
    }
    assert documents[DocumentKind.REFLECTION_PAPER].status == DocumentStatus.SUBMITTED
    letter = documents[DocumentKind.RECOMMENDATION_LETTER]
    assert letter.status == DocumentStatus.CHANGES_REQUESTED
    assert letter.uploaded_by == Uploader.CONSULTANT and "sign" in letter.review_comment


def test_a_window_closes_within_60_days(demo, session):
    fatima = _user(session, "fatima.ali@example.org")
    today = programme_today()
    facts = training_facts(session, [fatima.id], today)[fatima.id]
    closes = window_closes_on(24, facts)
    assert closes is not None and 0 < (closes - today).days <= 60
    assert not requirements_of(session, fatima).met


def test_one_candidate_has_met_everything_with_credit_from_elsewhere(demo, session):
    isabel = _user(session, "isabel.reyes@example.org")
    requirements = requirements_of(session, isabel)
    assert requirements.met, [line.missing for line in requirements.lines if not line.met]
    line = _line(session, "isabel.reyes@example.org", "12 group")
    assert line.progress == (
        "12 of 12 group consultations confirmed (24 of 24 hours), 4 of them credited from elsewhere"
    )
    # Nobody else is ready (the holder has been awarded already): the stages stay apart.
    others = [p.email for p in CANDIDATES if p.email not in (isabel.email, HOLDER)]
    assert not any(requirements_of(session, _user(session, e)).met for e in others)


def test_one_holder_is_awarded_and_listed_in_the_open_directory(demo, session, app):
    from lms.certificates.models import Certificate
    from lms.training.award import award_state
    from lms.training.directory import directory_open

    holder = _user(session, HOLDER)
    state = award_state(session, holder.id)
    assert state.awarded and state.certificate is not None
    assert (
        session.scalar(
            select(func.count())
            .select_from(Certificate)
            .where(Certificate.user_id == holder.id, Certificate.credential_id.is_not(None))
        )
        == 1
    )
    assert directory_open(session)
    page = app.test_client().get("/directory").get_data(as_text=True)
    assert "Samuel Osei" in page and "Portland" in page and state.certificate.code in page

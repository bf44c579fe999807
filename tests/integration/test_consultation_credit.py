"""Credit from elsewhere for the Certificate of Training: consultations held with another
programme (a reviewed request with evidence) count beside the confirmed log once approved,
and a retreat taken elsewhere counts through the rule's `equivalent` leaf."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from clock_support import programme_today
from retreats_support import PDF_BYTES
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.equivalency import consultation_credit as credit
from lms.equivalency import services
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import InvalidInput
from lms.mail.models import Notification
from lms.progress import standings
from lms.storage import store
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.facts import training_facts
from lms.training.requirement import requirements_of

GROUP_LINE = "12 group consultations confirmed (24 hours)"
RETREAT_LINE_START = "one of"


def _credit(**overrides):
    """A plausible request for consultations held with another programme."""
    values = {
        "kind": "group_consultation",
        "consultations": 4,
        "hours": Decimal("8"),
        "outside_programme": "KTC",
        "attended_from": programme_today() - timedelta(days=400),
        "attended_to": programme_today() - timedelta(days=300),
        "description": "Monthly group consultation with Dr. Lee, online.",
    }
    values.update(overrides)
    return credit.ConsultationCreditInput(**values)


@pytest.fixture
def evidence_store(app):
    """The app's evidence store."""
    return store("evidence", app)


@pytest.fixture
def ask(session, evidence_store):
    """Send a consultation-credit request as a clinician (a PDF as evidence) and commit it."""

    def do(user, content=PDF_BYTES, **overrides):
        request = credit.submit_consultation_credit(
            session,
            user_id=user.id,
            data=_credit(**overrides),
            evidence_store=evidence_store,
            evidence_stream=io.BytesIO(content) if content is not None else None,
            evidence_filename="letter.pdf",
        )
        session.commit()
        return request

    return do


def _line(session, user, starts: str):
    """The requirement line that asks for `starts...`."""
    lines = requirements_of(session, user).lines
    return next(line for line in lines if line.asks.startswith(starts))


def _count(session) -> int:
    """Credit requests stored."""
    return session.scalar(select(func.count()).select_from(EquivalencyRequest))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"consultations": 0}, "between 1 and 12"),
        ({"consultations": 13}, "between 1 and 12"),
        ({"consultations": "four"}, "whole number"),
        ({"hours": Decimal("0")}, "above 0"),
        ({"consultations": 2, "hours": Decimal("48.25")}, "at most 48"),
        ({"kind": "therapist_session"}, "group or individual"),
        ({"outside_programme": " "}, "Name the program"),
        ({"attended_to": programme_today() + timedelta(days=1)}, "already happened"),
        ({"content": None}, "Attach evidence"),
        ({"content": b"<html>not a letter</html>"}, "not a PDF, PNG or JPEG"),
    ],
)
def test_bad_consultation_credit_is_refused_and_stores_nothing(
    session, make_user, catalog, ask, evidence_store, overrides, message
):
    clinician = make_user()
    with pytest.raises(InvalidInput, match=message):
        ask(clinician, **overrides)
    session.rollback()
    assert _count(session) == 0
    assert list(evidence_store.listing()) == []


def test_pending_credit_counts_for_nothing_and_approved_credit_counts_and_says_so(
    session, make_user, catalog, ask
):
    clinician = make_user()
    reviewer = make_user(Role.INSTRUCTOR)
    request = ask(clinician)
    assert request.item_id is None and request.counts_for == "4 group consultations"
    assert _line(session, clinician, GROUP_LINE).progress == (
        "0 of 12 group consultations confirmed (0 of 24 hours)"
    )
    services.decide_request(
        session, request.id, reviewer_id=reviewer.id, approve=True, reason="Letter checked"
    )
    session.commit()
    line = _line(session, clinician, GROUP_LINE)
    assert not line.met
    assert line.progress == (
        "4 of 12 group consultations confirmed (8 of 24 hours), 4 of them credited from elsewhere"
    )
    assert line.missing == line.progress + "."
    # The individual consultations are untouched; the credit opens no window.
    facts = training_facts(session, [clinician.id], programme_today())[clinician.id]
    assert facts.count_and_hours("individual_consultation") == (0, Decimal(0))
    assert facts.first_event_on is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "equivalency.approved"))
    assert event.facts["consultation_kind"] == "group_consultation"
    assert event.facts["consultations"] == 4
    notice = session.scalar(
        select(Notification).where(Notification.user_id == clinician.id).limit(1)
    )
    assert "4 group consultations" in notice.message
    # The progress standings (which know catalogue items only) still equal a recomputation.
    assert standings.check(session).differences == []


def test_credit_adds_to_confirmed_entries_of_the_same_kind(app, session, make_user, catalog, ask):
    clinician = make_user()
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        consultant = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "Dana Reyes", "MD", "dana@consult.test", programme_today() - timedelta(days=90)
            ),
            actor_id=admin.id,
        )
        entry = log.log_consultation(
            session,
            clinician,
            log.ConsultationInput(
                held_on=programme_today() - timedelta(days=5),
                consultant_id=consultant.id,
                kind="group_consultation",
                hours="2",
            ),
        )
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()
    for count, hours in ((8, Decimal("16")), (3, Decimal("6"))):
        request = ask(clinician, consultations=count, hours=hours)
        services.decide_request(session, request.id, reviewer_id=admin.id, approve=True, reason="")
        session.commit()
    line = _line(session, clinician, GROUP_LINE)
    assert line.met
    assert line.progress == (
        "12 of 12 group consultations confirmed (24 of 24 hours), "
        "11 of them credited from elsewhere"
    )
    facts = training_facts(session, [clinician.id], programme_today())[clinician.id]
    assert facts.first_event_on == programme_today() - timedelta(days=5)


def test_declined_and_withdrawn_credit_count_for_nothing_and_are_audited(
    session, make_user, catalog, ask
):
    clinician = make_user()
    reviewer = make_user(Role.INSTRUCTOR)
    declined = ask(clinician, kind="individual_consultation", consultations=12, hours=12)
    services.decide_request(
        session, declined.id, reviewer_id=reviewer.id, approve=False, reason="No evidence of hours"
    )
    withdrawn = ask(clinician, kind="individual_consultation", consultations=12, hours=12)
    services.withdraw_request(session, withdrawn.id, user_id=clinician.id)
    session.commit()
    assert _line(session, clinician, "12 individual").progress == (
        "0 of 12 individual consultations confirmed"
    )
    actions = {
        event.action: event.facts
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.subject_type == "equivalency_request")
        )
    }
    assert actions["equivalency.declined"]["consultation_kind"] == "individual_consultation"
    assert actions["equivalency.withdrawn"]["consultations"] == 12
    assert declined.status == EquivalencyStatus.DECLINED


def test_the_database_refuses_consultation_credit_without_numbers_or_with_an_item(
    session, make_user, catalog
):
    from sqlalchemy.exc import IntegrityError

    clinician = make_user()
    for values in (
        {"item_id": None, "consultation_kind": "group_consultation", "consultations": 0},
        {"item_id": catalog["M1"].id, "consultation_kind": "group_consultation"},
        {"item_id": None, "consultation_kind": None},
    ):
        session.add(
            EquivalencyRequest(
                user_id=clinician.id,
                outside_programme="KTC",
                hours=Decimal("2"),
                consultations=values.pop("consultations", 1),
                **values,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_a_retreat_taken_elsewhere_counts_once_approved_through_the_equivalent_leaf(
    session, make_user, catalog, evidence_store
):
    clinician = make_user()
    reviewer = make_user(Role.INSTRUCTOR)
    retreat_line = next(
        line for line in requirements_of(session, clinician).lines if "Retreat" in line.asks
    )
    assert not retreat_line.met
    request = services.submit_request(
        session,
        user_id=clinician.id,
        data=services.RequestInput(
            item_code="RETREAT-L1",
            outside_programme="KRIYA",
            attended_from=programme_today() - timedelta(days=300),
            attended_to=programme_today() - timedelta(days=296),
            hours=Decimal("35"),
            description="Five-day experiential retreat, in person.",
        ),
        evidence_store=evidence_store,
        evidence_stream=io.BytesIO(PDF_BYTES),
        evidence_filename="retreat.pdf",
    )
    session.commit()
    pending = next(
        line for line in requirements_of(session, clinician).lines if "Retreat" in line.asks
    )
    assert not pending.met  # pending approval unlocks nothing
    services.decide_request(session, request.id, reviewer_id=reviewer.id, approve=True, reason="")
    session.commit()
    approved = next(
        line for line in requirements_of(session, clinician).lines if "Retreat" in line.asks
    )
    assert approved.met and approved.missing == ""

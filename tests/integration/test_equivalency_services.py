"""Equivalency requests: evidence checks, one live request, decided once, approval unlocks."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from clock_support import programme_today
from retreats_support import PDF_BYTES, PNG_BYTES, complete
from sqlalchemy import func, select

from lms import signals
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.db import db
from lms.equivalency import services
from lms.equivalency.evidence import MAX_EVIDENCE_BYTES
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput
from lms.progress.services import evaluate_item
from lms.storage import store


def _data(code="M1", **overrides):
    """A plausible request for outside training."""
    values = {
        "item_code": code,
        "outside_programme": "KTC",
        "attended_from": programme_today() - timedelta(days=200),
        "attended_to": programme_today() - timedelta(days=198),
        "hours": Decimal("16"),
        "description": "Introductory KAP training, three days, live online.",
    }
    values.update(overrides)
    return services.RequestInput(**values)


@pytest.fixture
def evidence_store(app):
    """The app's evidence store (the instance folder, or S3 with `storage_backend`)."""
    return store("evidence", app)


def stored_keys(evidence_store):
    """The keys of the files in the evidence store."""
    return [found.key for found in evidence_store.listing()]


@pytest.fixture
def submit(session, evidence_store):
    """Submit a request as a clinician with the given file content (PDF by default)."""

    def do(user, content=PDF_BYTES, filename="certificate.pdf", **overrides):
        request = services.submit_request(
            session,
            user_id=user.id,
            data=_data(**overrides),
            evidence_store=evidence_store,
            evidence_stream=io.BytesIO(content),
            evidence_filename=filename,
        )
        session.commit()
        return request

    return do


def _count(session):
    """Requests in the database."""
    return session.scalar(select(func.count()).select_from(EquivalencyRequest))


def test_evidence_is_stored_under_a_random_key_not_the_uploaded_name(
    storage_backend, session, make_user, catalog, submit, evidence_store
):
    clinician = make_user(Role.CLINICIAN)
    request = submit(clinician, PNG_BYTES, filename="../../etc/passwd.png")
    assert stored_keys(evidence_store) == [request.evidence_key]
    assert "passwd" not in request.evidence_key and len(request.evidence_key) == 36
    assert request.evidence_type == "image/png" and request.evidence_size == len(PNG_BYTES)
    assert request.status == EquivalencyStatus.PENDING
    assert evidence_store.read(request.evidence_key) == PNG_BYTES


@pytest.mark.parametrize(
    "content",
    [b"<html><script>alert(1)</script></html>", b"GIF89a......", b"MZ\x90\x00 executable"],
    ids=["html", "gif", "exe"],
)
def test_evidence_of_the_wrong_type_is_refused_by_content_whatever_its_name(
    storage_backend, session, make_user, catalog, submit, evidence_store, content
):
    clinician = make_user(Role.CLINICIAN)
    with pytest.raises(InvalidInput, match="not a PDF, PNG or JPEG"):
        submit(clinician, content, filename="certificate.pdf")
    session.rollback()
    assert _count(session) == 0
    assert stored_keys(evidence_store) == []


def test_evidence_larger_than_5_mb_is_refused(
    storage_backend, session, make_user, catalog, submit, evidence_store
):
    clinician = make_user(Role.CLINICIAN)
    too_big = PDF_BYTES + b"0" * (MAX_EVIDENCE_BYTES + 1 - len(PDF_BYTES))
    with pytest.raises(InvalidInput, match="larger than 5 MB"):
        submit(clinician, too_big)
    session.rollback()
    assert _count(session) == 0
    assert stored_keys(evidence_store) == []


def test_a_second_live_request_for_the_same_item_is_refused(
    storage_backend, session, make_user, catalog, submit, evidence_store
):
    clinician = make_user(Role.CLINICIAN)
    submit(clinician)
    with pytest.raises(Conflict, match="pending request"):
        submit(clinician)
    session.rollback()
    assert _count(session) == 1 and len(stored_keys(evidence_store)) == 1


def test_future_dates_and_reversed_dates_are_refused(session, make_user, catalog, submit):
    clinician = make_user(Role.CLINICIAN)
    with pytest.raises(InvalidInput, match="already happened"):
        submit(clinician, attended_to=programme_today() + timedelta(days=3))
    with pytest.raises(InvalidInput, match="end before"):
        submit(clinician, attended_to=programme_today() - timedelta(days=300))


def test_a_pending_request_unlocks_nothing_and_approval_unlocks_at_once(
    session, make_user, catalog, submit
):
    clinician = make_user(Role.CLINICIAN)
    instructor = make_user(Role.INSTRUCTOR)
    complete(session, clinician.id, "M2")
    request = submit(clinician)
    assert not evaluate_item(session, clinician, "RETREAT-L1").met
    unlocked = []

    def receiver(user, session, item):
        unlocked.append(item.code)

    decided = []

    def on_decided(request, session):
        decided.append(request.id)

    signals.item_unlocked.connect(receiver)
    signals.equivalency_decided.connect(on_decided)
    try:
        services.decide_request(
            session, request.id, reviewer_id=instructor.id, approve=True, reason="KTC accepted"
        )
        session.commit()
    finally:
        signals.item_unlocked.disconnect(receiver)
        signals.equivalency_decided.disconnect(on_decided)
    assert evaluate_item(session, clinician, "RETREAT-L1").met
    assert "RETREAT-L1" in unlocked and decided == [request.id]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "equivalency.approved"))
    assert event.person_id == clinician.id and event.actor_id == instructor.id


def test_a_decided_request_is_never_decided_again_and_says_by_whom(
    session, make_user, catalog, submit
):
    clinician = make_user(Role.CLINICIAN)
    first = make_user(Role.INSTRUCTOR, name="Ada First")
    second = make_user(Role.ADMIN, name="Bo Second")
    request = submit(clinician)
    services.decide_request(
        session, request.id, reviewer_id=first.id, approve=False, reason="No evidence of hours"
    )
    session.commit()
    with pytest.raises(AlreadyDecided, match="already declined by Ada First on"):
        services.decide_request(session, request.id, reviewer_id=second.id, approve=True, reason="")
    session.rollback()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.DECLINED


def test_declining_needs_a_reason_and_nobody_decides_their_own_request(
    session, make_user, catalog, submit
):
    instructor = make_user(Role.INSTRUCTOR, Role.CLINICIAN)
    other = make_user(Role.INSTRUCTOR)
    request = submit(instructor)
    with pytest.raises(InvalidInput, match="reason"):
        services.decide_request(session, request.id, reviewer_id=other.id, approve=False, reason="")
    with pytest.raises(Forbidden):
        services.decide_request(
            session, request.id, reviewer_id=instructor.id, approve=True, reason=""
        )
    session.rollback()
    assert session.get(EquivalencyRequest, request.id).status == EquivalencyStatus.PENDING


def test_the_clinician_withdraws_a_pending_request_but_not_a_decided_one(
    session, make_user, catalog, submit
):
    clinician = make_user(Role.CLINICIAN)
    instructor = make_user(Role.INSTRUCTOR)
    pending = submit(clinician)
    services.withdraw_request(session, pending.id, user_id=clinician.id)
    session.commit()
    assert session.get(EquivalencyRequest, pending.id).status == EquivalencyStatus.WITHDRAWN
    approved = submit(clinician)  # a withdrawn request no longer blocks a new one
    services.decide_request(
        session, approved.id, reviewer_id=instructor.id, approve=True, reason=""
    )
    session.commit()
    with pytest.raises(AlreadyDecided, match="already approved"):
        services.withdraw_request(session, approved.id, user_id=clinician.id)


def test_two_reviewers_deciding_at_the_same_moment_decide_once(
    app, session, make_user, catalog, submit
):
    clinician = make_user(Role.CLINICIAN)
    reviewers = [make_user(Role.INSTRUCTOR).id, make_user(Role.ADMIN).id]
    request_id = submit(clinician).id
    session.close()
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def decide(index, approve):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                services.decide_request(
                    db.session,
                    request_id,
                    reviewer_id=reviewers[index],
                    approve=approve,
                    reason="checked",
                )
                db.commit()
                outcomes[index] = "ok"
            except Exception as error:  # collected and asserted on below
                db.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=decide, args=(i, i == 0)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert outcomes.count("ok") == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], AlreadyDecided)

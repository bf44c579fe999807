"""The consultation log: logging with an approved consultant, the consultant's signed link
(confirm, decline, expiry, tampering, another consultant's entry), staff voiding, and the
requirement counting only confirmed entries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from clock_support import programme_today
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput
from lms.mail.models import Notification, OutboxMessage
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.models import Candidate, Consultation, ConsultationState
from lms.training.requirement import requirements_of


@pytest.fixture
def consultant(app, session, make_user):
    """An approved consultant, on the list for a year."""
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        found = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "Dana Reyes", "MD", "dana@consult.test", programme_today() - timedelta(days=365)
            ),
            actor_id=admin.id,
        )
        session.commit()
    return found


def _entry(**overrides):
    """A plausible consultation."""
    values = {
        "held_on": programme_today() - timedelta(days=3),
        "consultant_id": None,
        "kind": "group_consultation",
        "hours": "2",
        "topic": "Integration after a first session",
    }
    values.update(overrides)
    return log.ConsultationInput(**values)


def _log(app, session, user, consultant, **overrides):
    """Log one entry and commit it."""
    with app.test_request_context():
        entry = log.log_consultation(
            session, user, _entry(consultant_id=consultant.id, **overrides)
        )
        session.commit()
        return entry


def test_logging_stores_the_entry_pins_the_version_and_mails_the_consultant(
    app, session, make_user, consultant, catalog
):
    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    assert entry.state == ConsultationState.AWAITING and entry.consultant_was_approved
    assert session.get(Candidate, (clinician.id, 1)) is not None
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == consultant.email)
    )
    assert [m.kind for m in mail] == ["consultation_confirmation"]
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.person_id == clinician.id))
    assert "consultation.logged" in list(actions)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"held_on_days": -1}, "future"),
        ({"hours": "24.25"}, "at most 24"),
        ({"hours": "0"}, "above 0"),
        ({"kind": "therapy"}, "group or individual"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    app, session, make_user, consultant, overrides, message
):
    clinician = make_user()
    if "held_on_days" in overrides:
        overrides = {"held_on": programme_today() - timedelta(days=overrides["held_on_days"])}
    with app.test_request_context(), pytest.raises(InvalidInput, match=message):
        log.log_consultation(session, clinician, _entry(consultant_id=consultant.id, **overrides))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Consultation)) == 0


def test_an_unapproved_consultant_and_a_duplicate_are_refused(app, session, make_user, consultant):
    clinician = make_user()
    admin = make_user(Role.ADMIN)
    _log(app, session, clinician, consultant)
    with app.test_request_context(), pytest.raises(Conflict, match="already logged"):
        log.log_consultation(session, clinician, _entry(consultant_id=consultant.id))
    session.rollback()
    approved_list.retire_consultant(session, consultant.id, actor_id=admin.id)
    session.commit()
    with app.test_request_context(), pytest.raises(InvalidInput, match="approved list"):
        log.log_consultation(
            session, clinician, _entry(consultant_id=consultant.id, kind="individual_consultation")
        )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Consultation)) == 1


def test_a_clinician_on_the_approved_list_never_confirms_their_own_hours(
    app, session, make_user, consultant
):
    """Logging with oneself is refused; an entry that names oneself (the address changed
    since) cannot be confirmed by link or in the account."""
    dana = make_user(email="Dana@Consult.test")
    with app.test_request_context(), pytest.raises(InvalidInput, match="You are this consultant"):
        log.log_consultation(session, dana, _entry(consultant_id=consultant.id))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Consultation)) == 0
    other = make_user()
    entry = _log(app, session, other, consultant)
    other.email = "dana@consult.test"  # the same inbox as the consultant's, after the logging
    session.commit()
    with app.test_request_context():
        code = log.response_code(entry)
        with pytest.raises(Forbidden):
            log.confirm_by_code(session, code)
    session.rollback()
    assert session.get(Consultation, entry.id).state == ConsultationState.AWAITING


def test_an_account_answers_as_a_consultant_only_with_a_confirmed_address(
    app, session, make_user, consultant
):
    account = make_user(email="dana@consult.test")
    assert log.consultant_of(session, account).id == consultant.id
    account.email_confirmed_at = None
    session.commit()
    assert log.consultant_of(session, account) is None
    assert log.awaiting_for(session, account) == []


def test_a_consultation_before_the_approval_is_kept_as_unapproved_and_does_not_count(
    app, session, make_user, consultant, catalog
):
    clinician = make_user()
    early = consultant.approved_on - timedelta(days=1)
    entry = _log(app, session, clinician, consultant, held_on=early)
    assert entry.consultant_was_approved is False
    with app.test_request_context():
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()
        lines = requirements_of(session, clinician).lines
    assert any(
        line.progress == "0 of 12 group consultations confirmed (0 of 24 hours)" for line in lines
    )


def test_confirming_by_link_counts_and_locks_the_entry(
    app, session, make_user, consultant, catalog
):
    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    with app.test_request_context():
        code = log.response_code(entry)
        log.confirm_by_code(session, code)
        session.commit()
        lines = requirements_of(session, clinician).lines
        with pytest.raises(AlreadyDecided):
            log.decline_by_code(session, code, "Not me")
    assert entry.state == ConsultationState.CONFIRMED
    assert any(
        line.progress == "1 of 12 group consultations confirmed (2 of 24 hours)" for line in lines
    )


def test_a_link_mailed_before_the_address_was_corrected_stops_working(
    app, session, make_user, consultant
):
    """A typo sent the link to someone else's inbox: correcting the address voids it; the
    link mailed again to the right address works."""
    entry = _log(app, session, make_user(), consultant)
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        stale = log.response_code(entry)
        approved_list.edit_consultant(
            session,
            consultant.id,
            approved_list.ConsultantInput(
                "Dana Reyes", "MD", "dana.reyes@consult.test", consultant.approved_on
            ),
            actor_id=admin.id,
        )
        session.commit()
        with pytest.raises(InvalidInput, match="not valid"):
            log.confirm_by_code(session, stale)
        session.rollback()
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()
    assert session.get(Consultation, entry.id).state == ConsultationState.CONFIRMED


def test_declining_carries_the_comment_back_as_a_notice(app, session, make_user, consultant):
    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    with app.test_request_context():
        with pytest.raises(InvalidInput):
            log.decline_by_code(session, log.response_code(entry), "   ")
        session.rollback()
        log.decline_by_code(session, log.response_code(entry), "We met on the 4th, not the 3rd")
        session.commit()
    notice = session.scalar(select(Notification).where(Notification.user_id == clinician.id))
    assert entry.state == ConsultationState.DECLINED and "not the 3rd" in notice.message


def test_an_expired_link_is_refused(app, session, make_user, consultant):
    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    with app.test_request_context():
        code = log.response_code(entry)
        with (
            time_machine.travel(timedelta(days=log.LINK_DAYS + 1)),
            pytest.raises(InvalidInput, match="expired"),
        ):
            log.confirm_by_code(session, code)
    session.rollback()
    assert session.get(Consultation, entry.id).state == ConsultationState.AWAITING


def test_a_tampered_link_and_a_link_for_another_consultants_entry_are_refused(
    app, session, make_user, consultant
):
    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    with app.test_request_context():
        code = log.response_code(entry)
        with pytest.raises(InvalidInput, match="not valid"):
            log.confirm_by_code(session, code[:-3] + ("AAA" if code[-3:] != "AAA" else "BBB"))
        foreign = log._serializer().dumps({"e": entry.id, "c": consultant.id + 1})
        with pytest.raises(Forbidden):
            log.confirm_by_code(session, foreign)
    session.rollback()
    assert session.get(Consultation, entry.id).state == ConsultationState.AWAITING


def test_staff_void_a_confirmed_entry_with_a_reason_and_it_stops_counting(
    app, session, make_user, consultant
):
    clinician = make_user()
    instructor = make_user(Role.INSTRUCTOR)
    entry = _log(app, session, clinician, consultant)
    with app.test_request_context():
        log.confirm_by_code(session, log.response_code(entry))
        with pytest.raises(InvalidInput):
            log.void_consultation(session, entry.id, actor=instructor, reason="")
        log.void_consultation(session, entry.id, actor=instructor, reason="Logged twice")
        session.commit()
    assert entry.state == ConsultationState.VOIDED
    assert log.confirmed_counts(session, [clinician.id]) == {}
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "consultation.voided"))
    assert event.facts["reason"] == "Logged twice" and event.facts["was"] == "confirmed"


def test_hours_are_summed_per_kind_for_the_requirement(app, session, make_user, consultant):
    clinician = make_user()
    for days, hours in ((3, "2"), (10, "1.5")):
        entry = _log(
            app,
            session,
            clinician,
            consultant,
            held_on=programme_today() - timedelta(days=days),
            hours=hours,
        )
        with app.test_request_context():
            log.confirm_by_code(session, log.response_code(entry))
    session.commit()
    counts = log.confirmed_counts(session, [clinician.id])[clinician.id]
    assert counts["group_consultation"][:2] == (2, Decimal("3.5"))
    assert counts["group_consultation"][2] == programme_today() - timedelta(days=10)


def test_the_persons_export_holds_their_consultations_and_erasure_drops_the_free_text(
    app, session, make_user, consultant, catalog
):
    from lms.auth.privacy import Erasure
    from lms.clock import utcnow
    from lms.training.privacy import HOOKS

    clinician = make_user()
    entry = _log(app, session, clinician, consultant)
    exported = HOOKS.export(session, clinician).data
    (row,) = exported["consultations"]
    assert row["state"] == "Awaiting the consultant" and row["topic"] == entry.topic
    assert exported["requirement_versions"][0]["version"] == 1
    HOOKS.erase(
        session,
        Erasure(clinician, frozenset(), "[deleted]", clinician.email, utcnow(), files=None),
    )
    session.commit()
    session.expire_all()
    kept = session.get(Consultation, entry.id)
    assert kept.topic == "" and kept.hours == Decimal("2")

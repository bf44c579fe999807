"""Closing is deliberate and correctable: the confirmation's plan is what closing does; an
administrator reopens a closed offering with a reason, and closing it again records, keeps,
replaces or revokes only the completions its own attendance made. Retreat sessions close
from their roster the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from attendance_support import enrol, held_offering
from evaluations_support import evaluate
from retreats_support import add_session, complete
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.catalog.models import ProgrammeSetting
from lms.certificates.models import Certificate
from lms.clock import today as programme_today
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.offerings import closing, sheet
from lms.offerings.closing_plan import Outcome, preview_closing
from lms.offerings.models import Enrolment, EnrolmentStatus, Offering, OfferingStatus
from lms.offerings.sheet import CellInput
from lms.progress.models import Completion, CompletionSource
from lms.retreats import services as retreats


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def facilitator(make_user):
    """An instructor who runs the module offerings of these tests."""
    return make_user(Role.INSTRUCTOR)


@pytest.fixture
def held(session, catalog, admin, facilitator, make_user):
    """A two-day Module 1 offering that ended yesterday, with three clinicians enrolled."""
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    enrolments = enrol(session, offering, people, admin.id)
    return offering, people, enrolments


def mark(session, offering, actor, choices):
    """Set whole rows of the grid: {enrolment id: ("present", "absent")}, saved as typed."""
    cells = []
    current = sheet.attendance_grid(session, offering.id, viewer=actor)
    by_id = {r.enrolment.id: r for r in current.rows}
    for enrolment, row in choices.items():
        line = by_id[enrolment]
        for cell, choice in zip(line.cells, row, strict=True):
            cells.append(CellInput(enrolment, cell.day_id, choice, None, cell.token))
    report = sheet.save_cells(session, offering.id, cells, actor=actor)
    session.commit()
    return report


def live(session, user_id, offering=None):
    """The person's live completions (of the offering's item, when given)."""
    query = select(Completion).where(Completion.user_id == user_id, Completion.revoked_at.is_(None))
    if offering is not None:
        query = query.where(Completion.item_id == offering.item_id)
    return session.scalars(query).all()


def set_partial_credit(session, allowed: bool) -> None:
    """Make every accreditation statement allow (or refuse) partial credit."""
    row = session.get(ProgrammeSetting, "accreditation_statements")
    row.value = [dict(s, partial_credit=allowed) for s in row.value]
    session.commit()


# --------------------------------------------------------------------------- the plan


def test_the_preview_is_what_closing_does_and_records_nothing_itself(session, held, facilitator):
    offering, people, (ann, bo, cy) = held
    mark(session, offering, facilitator, {ann.id: ("present", "present"), bo.id: ("present", "")})
    plan = closing.plan_closing(session, offering.id, actor=facilitator)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Completion)) == 0
    assert session.get(Offering, offering.id).status == OfferingStatus.SCHEDULED
    assert {x.name: x.outcome for x in plan.lines} == {
        "Ann Lee": Outcome.RECORD,
        "Bo Chen": Outcome.ABSENT,
        "Cy Diaz": Outcome.ABSENT,
    }
    assert not plan.needs_reason
    result = closing.close_offering(
        session, offering.id, actor=facilitator, expected=plan.fingerprint
    )
    session.commit()
    shown = {(x.name, x.attended, x.ce_hours, x.missed) for x in plan.lines}
    done = {(x.name, x.attended, x.ce_hours, x.missed) for x in result.attended + result.absent}
    assert shown == done
    assert [x.outcome for x in result.attended] == ["record"]
    kept = closing.closing_result(session, offering.id)
    assert {(x.name, x.attended, x.ce_hours, x.missed) for x in kept.attended + kept.absent} == (
        shown
    )


def test_a_plan_that_changed_since_the_page_was_drawn_is_not_carried_out(
    session, held, facilitator
):
    offering, _, (ann, bo, _) = held
    mark(session, offering, facilitator, {ann.id: ("present", "present")})
    seen = closing.plan_closing(session, offering.id, actor=facilitator).fingerprint
    session.commit()
    mark(session, offering, facilitator, {bo.id: ("present", "present")})  # someone else
    with pytest.raises(Conflict, match="changed since"):
        closing.close_offering(session, offering.id, actor=facilitator, expected=seen)
    session.rollback()
    assert session.get(Offering, offering.id).status == OfferingStatus.SCHEDULED
    assert session.scalar(select(func.count()).select_from(Completion)) == 0


# --------------------------------------------------------------------------- reopening


def test_only_an_administrator_reopens_a_closed_offering_with_a_reason_audited(
    session, held, admin, facilitator
):
    offering, _, (ann, _, _) = held
    with pytest.raises(AlreadyDecided, match="not closed"):
        closing.reopen_offering(session, offering.id, actor=admin, reason="Typo")
    session.rollback()
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    with pytest.raises(Forbidden):
        closing.reopen_offering(session, offering.id, actor=facilitator, reason="Typo")
    session.rollback()
    with pytest.raises(InvalidInput, match="reason"):
        closing.reopen_offering(session, offering.id, actor=admin, reason="  ")
    session.rollback()
    with pytest.raises(Conflict, match="closed"):
        mark(session, offering, facilitator, {ann.id: ("present", "present")})
    session.rollback()
    closing.reopen_offering(session, offering.id, actor=admin, reason="Ann was there: Zoom lost")
    session.commit()
    reopened = session.get(Offering, offering.id)
    assert reopened.status == OfferingStatus.SCHEDULED and reopened.closed_at is None
    assert reopened.state(programme_today(session)) == OfferingStatus.ENDED
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "offering.reopened"))
    assert event.actor_id == admin.id and event.facts["reason"] == "Ann was there: Zoom lost"
    found = closing.last_reopening(session, offering.id)
    assert found.reason == "Ann was there: Zoom lost" and found.by == admin.name
    # The grid takes attendance again.
    mark(session, offering, facilitator, {ann.id: ("present", "present")})
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert closing.last_reopening(session, offering.id) is None


def test_closing_again_records_new_attendance_revokes_what_it_no_longer_earns_and_touches_nothing_else(  # noqa: E501
    session, held, admin, facilitator
):
    offering, (ann_user, bo_user, cy_user), (ann, bo, cy) = held
    complete(session, cy_user.id, "M1")  # Cy's Module 1 came from an instructor's mark
    cy_mark = live(session, cy_user.id)[0]
    mark(session, offering, facilitator, {ann.id: ("present", "present")})
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    (ann_done,) = live(session, ann_user.id)
    evaluate(session, ann_user.id, offering.id)  # her certificate follows her evaluation
    certificate = session.scalar(
        select(Certificate).where(Certificate.completion_id == ann_done.id)
    )
    assert certificate is not None and certificate.revoked_at is None

    reason = "Ann was marked for Bo: the Zoom names were swapped"
    closing.reopen_offering(session, offering.id, actor=admin, reason=reason)
    session.commit()
    mark(
        session,
        offering,
        facilitator,
        {ann.id: ("absent", "absent"), bo.id: ("present", "present")},
    )
    plan = closing.plan_closing(session, offering.id, actor=facilitator)
    assert {x.name: x.outcome for x in plan.lines} == {
        "Ann Lee": Outcome.REVOKE,
        "Bo Chen": Outcome.RECORD,
        "Cy Diaz": Outcome.ABSENT,  # absent here; her own mark is not this offering's
    }
    assert plan.needs_reason
    session.commit()
    with pytest.raises(InvalidInput, match="reason"):
        closing.close_offering(session, offering.id, actor=facilitator)
    session.rollback()
    result = closing.close_offering(session, offering.id, actor=facilitator, reason=reason)
    session.commit()

    session.refresh(ann_done)
    assert ann_done.revoked_at is not None and ann_done.revoke_reason == reason
    session.refresh(certificate)
    assert certificate.revoked_at is not None and certificate.revoke_reason == reason
    (bo_done,) = live(session, bo_user.id)
    assert (bo_done.source, bo_done.offering_id) == (CompletionSource.ATTENDANCE, offering.id)
    assert live(session, cy_user.id) == [cy_mark]  # untouched
    assert {e.id: session.get(Enrolment, e.id).status for e in (ann, bo, cy)} == {
        ann.id: EnrolmentStatus.ABSENT,
        bo.id: EnrolmentStatus.ATTENDED,
        cy.id: EnrolmentStatus.ABSENT,
    }
    assert {x.name: x.revoked_id for x in result.absent} == {
        "Ann Lee": ann_done.id,
        "Cy Diaz": None,
    }
    revoked = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "completion.revoked", AuditEvent.subject_id == ann_done.id
        )
    )
    assert revoked.facts["reason"] == reason and revoked.actor_id == facilitator.id
    kept = closing.closing_result(session, offering.id)
    assert kept.reason == reason and [x.name for x in kept.attended] == ["Bo Chen"]

    # Reopened and closed again unchanged: nothing is recorded or revoked twice.
    closing.reopen_offering(session, offering.id, actor=admin, reason="Check once more")
    session.commit()
    plan = closing.plan_closing(session, offering.id, actor=facilitator)
    assert {x.name: x.outcome for x in plan.lines} == {
        "Ann Lee": Outcome.ABSENT,
        "Bo Chen": Outcome.KEEP,
        "Cy Diaz": Outcome.ABSENT,
    }
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert live(session, bo_user.id) == [bo_done]
    assert session.scalar(select(func.count()).select_from(Completion)) == 3


def test_closing_again_with_other_ce_hours_records_the_completion_anew(
    session, catalog, admin, facilitator, make_user
):
    set_partial_credit(session, True)
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    person = make_user(Role.CLINICIAN, name="Di Evans")
    (mine,) = enrol(session, offering, [person], admin.id)
    mark(session, offering, facilitator, {mine.id: ("present", "absent")})
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    (first,) = live(session, person.id)
    assert first.ce_hours == Decimal("4")
    closing.reopen_offering(session, offering.id, actor=admin, reason="Day 2 was attended")
    session.commit()
    mark(session, offering, facilitator, {mine.id: ("present", "present")})
    (line,) = closing.plan_closing(session, offering.id, actor=facilitator).lines
    assert line.outcome is Outcome.REPLACE and line.completion_id == first.id
    session.commit()
    closing.close_offering(session, offering.id, actor=facilitator, reason="Day 2 was attended")
    session.commit()
    (second,) = live(session, person.id)
    assert second.id != first.id and second.ce_hours == Decimal("8")
    session.refresh(first)
    assert first.revoke_reason == "Day 2 was attended"


# --------------------------------------------------------------------------- retreat sessions


def accepted(session, retreat_session, *people):
    """Accepted applicants of the session (test setup: their screening is not the point)."""
    made = []
    for person in people:
        application = Enrolment(
            user_id=person.id, offering_id=retreat_session.id, status=EnrolmentStatus.ENROLLED
        )
        session.add(application)
        made.append(application)
    session.commit()
    return made


def test_a_retreat_session_closes_with_its_roster_attendance_and_is_corrected_by_reopening(
    session, catalog, admin, facilitator, make_user
):
    retreat_session = add_session(session, starts_in=-6, days=5)  # ended yesterday
    names = ("Ann Lee", "Bo Chen", "Cy Diaz", "Di Evans")
    ann, bo, cy, di = (make_user(Role.CLINICIAN, name=n) for n in names)
    complete(session, di.id, "M1", "RETREAT-L1")  # Di did Level 1 at an earlier session
    a_ann, a_bo, a_cy, a_di = accepted(session, retreat_session, ann, bo, cy, di)
    waiting = Enrolment(
        user_id=make_user(Role.CLINICIAN).id,
        offering_id=retreat_session.id,
        status=EnrolmentStatus.WAITLISTED,
    )
    session.add(waiting)
    session.commit()
    for application in (a_ann, a_di):
        retreats.mark_attendance(session, application.id, actor_id=facilitator.id, attended=True)
    retreats.mark_attendance(session, a_bo.id, actor_id=facilitator.id, attended=False)
    session.commit()
    (ann_done,) = live(session, ann.id, retreat_session)  # recorded by the mark, at once
    di_earlier = live(session, di.id, retreat_session)

    plan = preview_closing(session, retreat_session)
    assert {x.name: x.outcome for x in plan.lines} == {
        "Ann Lee": Outcome.KEEP,
        "Bo Chen": Outcome.ABSENT,
        "Cy Diaz": Outcome.ABSENT,  # not marked: counts as absent
        "Di Evans": Outcome.KEEP,
    }
    assert all(x.ce_hours is None for x in plan.lines)  # retreats carry no CE hours
    result = closing.close_offering(session, retreat_session.id, actor=facilitator)
    session.commit()
    assert {x.name for x in result.attended} == {"Ann Lee", "Di Evans"}
    assert session.get(Enrolment, a_cy.id).status == EnrolmentStatus.ABSENT
    assert session.get(Enrolment, waiting.id).status == EnrolmentStatus.WAITLISTED
    assert live(session, di.id, retreat_session) == di_earlier
    roster = retreats.roster(session, retreat_session.id)
    assert roster.state == OfferingStatus.CLOSED and roster.over and not roster.attendance_open
    assert roster.counts["attended"] == 2 and roster.counts["absent"] == 2
    with pytest.raises(Conflict, match="closed"):
        retreats.mark_attendance(session, a_cy.id, actor_id=facilitator.id, attended=True)
    session.rollback()

    # Ann was marked by mistake, Cy was there: an administrator reopens to correct it.
    reason = "Ann and Cy were swapped on the roster"
    closing.reopen_offering(session, retreat_session.id, actor=admin, reason=reason)
    session.commit()
    retreats.mark_attendance(session, a_ann.id, actor_id=facilitator.id, attended=False)
    retreats.mark_attendance(session, a_cy.id, actor_id=facilitator.id, attended=True)
    session.commit()
    (cy_done,) = live(session, cy.id, retreat_session)  # the mark records at once, as ever
    assert cy_done.offering_id == retreat_session.id
    plan = preview_closing(session, retreat_session)
    assert plan.having(Outcome.REVOKE)[0].name == "Ann Lee"
    closing.close_offering(session, retreat_session.id, actor=facilitator, reason=reason)
    session.commit()
    session.refresh(ann_done)
    assert ann_done.revoke_reason == reason
    assert live(session, di.id, retreat_session) == di_earlier  # not this session's: untouched


def test_a_retreat_session_closes_from_its_last_day_by_staff(
    session, catalog, admin, facilitator, make_user
):
    running = add_session(session, starts_in=-2, days=5)
    with pytest.raises(closing.NotClosable, match="from its last day"):
        closing.close_offering(session, running.id, actor=facilitator)
    session.rollback()
    ended = add_session(session, starts_in=-10, days=3, location="Elsewhere")
    with pytest.raises(Forbidden):
        closing.close_offering(session, ended.id, actor=make_user(Role.CLINICIAN))
    session.rollback()
    closing.close_offering(session, ended.id, actor=facilitator)  # nobody in it: fine
    session.commit()
    with pytest.raises(closing.AlreadyClosed):
        closing.close_offering(session, ended.id, actor=facilitator)


def test_past_attendance_goes_on_a_session_that_is_over_once(session, catalog, admin, make_user):
    person = make_user(Role.CLINICIAN, name="Leila Haddad")
    upcoming = add_session(session, starts_in=10)
    with pytest.raises(Conflict, match="over"):
        retreats.record_past_attendance(session, upcoming.id, person.id, actor_id=admin.id)
    session.rollback()
    past = add_session(session, starts_in=-400, location="Portland, OR")
    application = retreats.record_past_attendance(session, past.id, person.id, actor_id=admin.id)
    session.commit()
    assert application.status == EnrolmentStatus.ATTENDED
    (done,) = live(session, person.id, past)
    assert (done.source, done.offering_id, done.completed_on) == (
        CompletionSource.ATTENDANCE,
        past.id,
        past.ends_on,
    )
    assert done.note == "Attended the Portland, OR session"
    with pytest.raises(AlreadyDecided, match="roster already"):
        retreats.record_past_attendance(session, past.id, person.id, actor_id=admin.id)
    session.rollback()
    closing.close_offering(session, past.id, actor=admin)
    session.commit()
    with pytest.raises(Conflict, match="reopen"):
        retreats.record_past_attendance(
            session, past.id, make_user(Role.CLINICIAN).id, actor_id=admin.id
        )
    session.rollback()
    module = held_offering(session, admin.id)
    with pytest.raises(NotFound):
        retreats.record_past_attendance(session, module.id, person.id, actor_id=admin.id)


def test_the_preview_reads_in_a_constant_number_of_queries(
    session, catalog, admin, facilitator, make_user, count_queries, engine
):
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])

    def queries() -> int:
        session.expire_all()
        loaded = session.get(Offering, offering.id)
        _ = loaded.item, loaded.days
        with count_queries() as statements:
            preview_closing(session, loaded)
        session.rollback()
        return len(statements)

    enrol(session, offering, [make_user(Role.CLINICIAN) for _ in range(2)], admin.id)
    few = queries()
    enrol(session, offering, [make_user(Role.CLINICIAN) for _ in range(8)], admin.id)
    assert queries() == few

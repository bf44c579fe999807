"""Taking attendance of a module offering: the grid's cells, a participant report, matching
its guests by hand, and closing the offering into completions with the CE hours earned."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from attendance_support import enrol, held_offering, report
from evaluations_support import evaluate
from sqlalchemy import func, select

from lms import dates
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.catalog.models import ProgrammeSetting
from lms.certificates.models import Certificate
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.offerings import closing, participants, sheet
from lms.offerings.attendance import token
from lms.offerings.models import (
    Attendance,
    AttendanceSource,
    EnrolmentStatus,
    OfferingStatus,
    ParticipantRow,
    ReportMatch,
)
from lms.offerings.sheet import CellInput
from lms.progress.models import Completion, CompletionSource, ItemState, ProgressSummary, Standing
from lms.signals import item_unlocked


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def facilitator(make_user):
    """An instructor who runs the offerings of these tests."""
    return make_user(Role.INSTRUCTOR)


@pytest.fixture
def held(session, catalog, admin, facilitator, make_user):
    """A two-day Module 1 offering that ended yesterday, with three clinicians enrolled."""
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    enrolments = enrol(session, offering, people, admin.id)
    return offering, people, enrolments


def cell(enrolment, day, choice="", minutes=None, was=":"):
    """The grid's form for one cell."""
    return CellInput(enrolment.id, day.id, choice, minutes, was)


def marks(session):
    """{(enrolment id, day id): (present, minutes, source)} of every attendance row."""
    rows = session.scalars(select(Attendance))
    return {(a.enrolment_id, a.offering_day_id): (a.present, a.minutes, a.source) for a in rows}


def set_partial_credit(session, allowed: bool) -> None:
    """Make every accreditation statement allow (or refuse) partial credit."""
    row = session.get(ProgrammeSetting, "accreditation_statements")
    row.value = [dict(s, partial_credit=allowed) for s in row.value]
    session.commit()


# --------------------------------------------------------------------------- the grid


def test_cells_save_present_absent_or_minutes_judged_by_the_share_and_are_audited(
    session, held, facilitator
):
    offering, _, (ann, bo, cy) = held
    d1, d2 = offering.days
    saved = sheet.save_cells(
        session,
        offering.id,
        [
            cell(ann, d1, "present"),
            cell(bo, d1, "absent", 20),
            cell(cy, d1, minutes=380),  # 380 of 420 >= 90%: present
            cell(cy, d2, minutes=300),  # below the share: absent
        ],
        actor=facilitator,
    )
    session.commit()
    manual = AttendanceSource.MANUAL
    assert marks(session) == {
        (ann.id, d1.id): (True, None, manual),
        (bo.id, d1.id): (False, 20, manual),
        (cy.id, d1.id): (True, 380, manual),
        (cy.id, d2.id): (False, 300, manual),
    }
    assert len(saved.saved) == 4 and not saved.conflicts
    assert "Does not meet" in sheet.verdict_text(saved.verdicts[cy.id])
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "attendance.recorded")
    ).all()
    assert {(e.person_id, e.actor_id) for e in events} >= {(ann.user_id, facilitator.id)}
    assert len(events) == 4


def test_a_cell_changed_by_someone_else_meanwhile_is_kept_and_untouched_cells_are_not_written(
    session, held, facilitator, admin
):
    offering, _, (ann, bo, _) = held
    d1 = offering.days[0]
    sheet.save_cells(session, offering.id, [cell(ann, d1, "present")], actor=admin)
    session.commit()
    # The facilitator's page was drawn before the admin's save: Ann's cell read "not recorded".
    result = sheet.save_cells(
        session,
        offering.id,
        [cell(ann, d1, "absent", was=":"), cell(bo, d1, "", None, was=":")],
        actor=facilitator,
    )
    session.commit()
    assert result.conflicts == [f"Ann Lee, {dates.day(d1.held_on)}"] and not result.saved
    assert result.current[0].present is True
    assert marks(session) == {(ann.id, d1.id): (True, None, AttendanceSource.MANUAL)}


def test_only_the_offerings_facilitators_and_admins_take_attendance_and_only_from_the_day(
    session, catalog, admin, facilitator, make_user
):
    other = make_user(Role.INSTRUCTOR)
    offering = held_offering(session, admin.id, facilitators=[facilitator.id], ended=-1, days=2)
    (ann,) = enrol(session, offering, [make_user(Role.CLINICIAN)], admin.id)
    today, tomorrow = offering.days
    with pytest.raises(Forbidden):
        sheet.save_cells(session, offering.id, [cell(ann, today, "present")], actor=other)
    session.rollback()
    with pytest.raises(Conflict, match="from that day on"):
        sheet.save_cells(session, offering.id, [cell(ann, tomorrow, "present")], actor=facilitator)
    session.rollback()
    sheet.save_cells(session, offering.id, [cell(ann, today, "present")], actor=admin)
    session.commit()
    assert len(marks(session)) == 1


def test_a_bad_cell_refuses_the_whole_save(session, held, facilitator):
    offering, _, (ann, bo, _) = held
    d1 = offering.days[0]
    with pytest.raises(InvalidInput, match="choose present, absent or nothing"):
        sheet.save_cells(
            session,
            offering.id,
            [cell(ann, d1, "present"), cell(bo, d1, "maybe")],
            actor=facilitator,
        )
    session.rollback()
    assert marks(session) == {}
    with pytest.raises(InvalidInput, match="from 0 to 1440"):
        sheet.parse_minutes("2000", "Row 1")
    with pytest.raises(NotFound):  # an enrolment of another offering is no cell of this one
        sheet.save_cells(
            session,
            offering.id,
            [CellInput(999_999, d1.id, "present", None, ":")],
            actor=facilitator,
        )


def test_the_grid_shows_enrolled_people_only_with_what_they_would_earn(
    session, held, facilitator, make_user, admin
):
    offering, _, (ann, bo, cy) = held
    waiting = make_user(Role.CLINICIAN, name="Zed Waiting")
    offering.capacity = 3
    session.commit()
    (late,) = enrol(session, offering, [waiting], admin.id)
    assert late.status == EnrolmentStatus.WAITLISTED
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [cell(ann, d1, "present"), cell(ann, d2, "present"), cell(bo, d1, "present")],
        actor=facilitator,
    )
    session.commit()
    grid = sheet.attendance_grid(session, offering.id, viewer=facilitator)
    assert [r.enrolment.user.name for r in grid.rows] == ["Ann Lee", "Bo Chen", "Cy Diaz"]
    verdicts = {r.enrolment.id: r.verdict for r in grid.rows}
    assert verdicts[ann.id].met and verdicts[ann.id].ce_hours == Decimal("8")
    assert not verdicts[bo.id].met and grid.unrecorded == 3
    assert grid.may_edit and grid.editable
    assert closing.closing_problem(grid.offering, facilitator, grid.today) is None


def test_retreat_offerings_have_no_attendance_grid(session, catalog, admin, facilitator):
    from retreats_support import add_session

    retreat = add_session(session)
    with pytest.raises(NotFound, match="retreat's roster"):
        sheet.attendance_grid(session, retreat.id, viewer=admin)
    # A retreat session closes from its roster (lms.retreats), from its last day.
    with pytest.raises(closing.NotClosable, match="from its last day"):
        closing.close_offering(session, retreat.id, actor=admin)


# --------------------------------------------------------------------------- reports


def test_a_report_fills_enrolled_people_by_e_mail_and_keeps_guests_to_match_by_hand(
    session, held, facilitator
):
    offering, people, (ann, bo, cy) = held
    d1 = offering.days[0]
    text = report(
        ("Ann Lee", people[0].email.upper(), 200),
        ("Ann on her phone", people[0].email, 190),
        ("Bo", people[1].email, 100),
        ("iPad", "", 300),
        ("Visitor", "visitor@elsewhere.test", 420),
        on=d1.held_on,
    )
    result = participants.import_report(session, offering.id, d1.id, text, actor=facilitator)
    session.commit()
    report_source = AttendanceSource.REPORT
    assert marks(session) == {
        (ann.id, d1.id): (True, 390, report_source),
        (bo.id, d1.id): (False, 100, report_source),
        (cy.id, d1.id): (False, 0, report_source),  # not in the report at all
    }
    assert sorted(result.matched) == ["Ann Lee", "Bo Chen"]
    assert [(r.name, r.email) for r in result.to_match] == [
        ("iPad", ""),
        ("Visitor", "visitor@elsewhere.test"),
    ]
    assert (result.present, result.absent) == (1, 2)
    rows = session.scalars(select(ParticipantRow).order_by(ParticipantRow.line)).all()
    assert [(r.match, r.joins) for r in rows] == [
        (ReportMatch.EMAIL, 2),
        (ReportMatch.EMAIL, 1),
        (ReportMatch.UNMATCHED, 1),
        (ReportMatch.UNMATCHED, 1),
    ]
    assert session.scalar(
        select(func.count()).where(AuditEvent.action == "attendance.report_imported")
    )

    # Bo was the iPad: matched by hand, the minutes add up and he reaches the share.
    ipad = next(r for r in rows if r.name == "iPad")
    participants.match_row(session, offering.id, ipad.id, bo.id, actor=facilitator)
    session.commit()
    assert marks(session)[(bo.id, d1.id)] == (True, 400, report_source)
    # A wrong match is undone: the minutes go back.
    participants.match_row(session, offering.id, ipad.id, None, actor=facilitator)
    session.commit()
    assert marks(session)[(bo.id, d1.id)] == (False, 100, report_source)
    with pytest.raises(InvalidInput, match="matched by its e-mail"):
        participants.match_row(session, offering.id, rows[0].id, cy.id, actor=facilitator)


def test_cells_typed_by_hand_survive_a_report_and_an_emptied_cell_goes_back_to_the_report(
    session, held, facilitator, admin
):
    offering, people, (ann, bo, _) = held
    d1 = offering.days[0]
    sheet.save_cells(session, offering.id, [cell(ann, d1, "present", 60)], actor=admin)
    session.commit()
    text = report(("Ann", people[0].email, 30), ("Bo", people[1].email, 410), on=d1.held_on)
    result = participants.import_report(session, offering.id, d1.id, text, actor=facilitator)
    session.commit()
    assert result.kept == ["Ann Lee"]
    assert marks(session)[(ann.id, d1.id)] == (True, 60, AttendanceSource.MANUAL)
    sheet.save_cells(
        session, offering.id, [cell(ann, d1, "", None, was=token(True, 60))], actor=facilitator
    )
    session.commit()
    assert marks(session)[(ann.id, d1.id)] == (False, 30, AttendanceSource.REPORT)


def test_importing_a_day_again_replaces_its_report(session, held, facilitator):
    offering, people, (ann, _, _) = held
    d1 = offering.days[0]
    first = report(("Ann", people[0].email, 10), ("Guest", "", 400), on=d1.held_on)
    participants.import_report(session, offering.id, d1.id, first, actor=facilitator)
    session.commit()
    again = report(("Ann", people[0].email, 400), on=d1.held_on)
    participants.import_report(session, offering.id, d1.id, again, actor=facilitator)
    session.commit()
    assert session.scalar(select(func.count()).select_from(ParticipantRow)) == 1
    assert marks(session)[(ann.id, d1.id)][:2] == (True, 400)


def test_a_bad_or_wrong_days_report_changes_nothing(session, held, facilitator):
    offering, people, _ = held
    d1, d2 = offering.days
    with pytest.raises(participants.ReportError, match="line 5"):
        participants.import_report(
            session,
            offering.id,
            d1.id,
            report(("Ann", "a@x.org", "x"), on=d1.held_on),
            actor=facilitator,
        )
    session.rollback()
    wrong_day = report(("Ann", people[0].email, 400), on=d2.held_on)
    with pytest.raises(InvalidInput, match="not " + dates.day(d1.held_on)):
        participants.import_report(session, offering.id, d1.id, wrong_day, actor=facilitator)
    session.rollback()
    assert marks(session) == {}
    assert session.scalar(select(func.count()).select_from(ParticipantRow)) == 0


def test_the_demo_can_import_a_file_for_a_day(session, held, facilitator, tmp_path):
    offering, people, (ann, _, _) = held
    d1 = offering.days[0]
    path = tmp_path / "day1.csv"
    path.write_text("\ufeff" + report(("Ann", people[0].email, 410), on=d1.held_on))
    result = participants.import_report_file(
        session, offering.id, d1.held_on, path, actor=facilitator
    )
    session.commit()
    assert result.matched == ["Ann Lee"]
    assert marks(session)[(ann.id, d1.id)][:2] == (True, 410)
    with pytest.raises(NotFound):
        participants.import_report_file(
            session, offering.id, d1.held_on - timedelta(days=9), path, actor=facilitator
        )


# --------------------------------------------------------------------------- closing


def test_closing_records_completions_for_who_met_the_policy_and_unlocks_at_once(
    session, held, facilitator
):
    offering, people, (ann, bo, cy) = held
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [
            cell(ann, d1, "present"),
            cell(ann, d2, minutes=400),
            cell(bo, d1, "present"),
            cell(bo, d2, "absent", 90),
        ],
        actor=facilitator,
    )
    session.commit()
    unlocked = []

    def heard(user, **kwargs):
        unlocked.append((user.id, kwargs["item"].code))

    item_unlocked.connect(heard)
    try:
        result = closing.close_offering(session, offering.id, actor=facilitator)
        session.commit()
    finally:
        item_unlocked.disconnect(heard)
    assert [x.name for x in result.attended] == ["Ann Lee"]
    assert {x.name: x.missed for x in result.absent} == {
        "Bo Chen": (f"{dates.day(d2.held_on)}: absent (90 of 420 minutes; 378 needed)",),
        "Cy Diaz": tuple(f"{dates.day(d.held_on)}: not recorded" for d in (d1, d2)),
    }
    done = session.scalar(select(Completion).where(Completion.user_id == people[0].id))
    assert (done.source, done.completed_on, done.offering_id, done.ce_hours) == (
        CompletionSource.ATTENDANCE,
        offering.ends_on,
        offering.id,
        Decimal("8.00"),
    )
    assert done.recorded_by_id == facilitator.id
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
    statuses = {e.id: session.get(type(e), e.id).status for e in (ann, bo, cy)}
    assert statuses == {
        ann.id: EnrolmentStatus.ATTENDED,
        bo.id: EnrolmentStatus.ABSENT,
        cy.id: EnrolmentStatus.ABSENT,
    }
    session.refresh(offering)
    assert offering.status == OfferingStatus.CLOSED and offering.closed_by_id == facilitator.id
    assert (people[0].id, "M2") in unlocked  # Module 1 opens Module 2 at once
    m2 = session.scalar(
        select(Standing.state).where(
            Standing.user_id == people[0].id, Standing.item_id == catalog_id(session, "M2")
        )
    )
    assert m2 == ItemState.AVAILABLE
    # The CE certificate waits for Ann's evaluation of the offering, then follows.
    assert session.scalar(select(Certificate).where(Certificate.completion_id == done.id)) is None
    evaluate(session, people[0].id, offering.id)
    certificate = session.scalar(select(Certificate).where(Certificate.completion_id == done.id))
    assert certificate is not None and certificate.content["ce_hours"] == "8"
    kept = closing.closing_result(session, offering.id)
    assert [x.name for x in kept.attended] == ["Ann Lee"] and kept.attended[0].ce_hours == 8
    assert {x.name for x in kept.absent} == {"Bo Chen", "Cy Diaz"}
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"offering.closed", "enrolment.attended", "enrolment.absent"} <= actions
    assert "completion.recorded" in actions
    with pytest.raises(AlreadyDecided):
        closing.close_offering(session, offering.id, actor=facilitator)
    session.rollback()
    with pytest.raises(Conflict, match="closed"):
        sheet.save_cells(session, offering.id, [cell(cy, d1, "present")], actor=facilitator)


def catalog_id(session, code):
    """The id of a catalogue item."""
    from lms.catalog.models import CatalogItem

    return session.scalar(select(CatalogItem.id).where(CatalogItem.code == code))


def test_partial_credit_awards_the_hours_of_the_days_attended_as_the_one_ce_fact(
    session, catalog, admin, facilitator, make_user
):
    set_partial_credit(session, True)
    offering = held_offering(
        session,
        admin.id,
        days=3,
        ce_hours=[Decimal("3"), Decimal("3"), Decimal("2.5")],
        facilitators=[facilitator.id],
    )
    person = make_user(Role.CLINICIAN)
    (mine,) = enrol(session, offering, [person], admin.id)
    d1, d2, d3 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [cell(mine, d1, "present"), cell(mine, d2, "absent"), cell(mine, d3, "present")],
        actor=facilitator,
    )
    session.commit()
    result = closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert result.attended[0].ce_hours == Decimal("5.5")
    done = session.scalar(select(Completion).where(Completion.user_id == person.id))
    assert done.ce_hours == Decimal("5.50") and done.awarded_ce_hours == Decimal("5.50")
    # The same hours everywhere: the summary the roster and rules read, the certificate, the
    # transcript and the dashboard.
    summary = session.get(ProgressSummary, person.id)
    assert summary.ce_hours == Decimal("5.50")  # not Module 1's 9
    evaluate(session, person.id, offering.id)  # the CE certificate follows the evaluation
    certificate = session.scalar(select(Certificate).where(Certificate.completion_id == done.id))
    assert certificate.content["ce_hours"] == "5.5"
    from lms.certificates.services import transcript_rows
    from lms.progress.services import clinician_progress

    assert [r.ce_hours for r in transcript_rows(session, person.id)] == [Decimal("5.50")]
    progress = clinician_progress(session, person)
    assert progress.ce_hours == Decimal("5.50")
    m1 = next(s for s in progress.core_modules if s.code == "M1")
    assert m1.ce_hours == Decimal("5.50")
    assert progress.history[0].ce_hours == Decimal("5.50")


def test_without_partial_credit_a_missed_day_earns_no_completion(session, held, facilitator):
    set_partial_credit(session, False)
    offering, people, (ann, _, _) = held
    d1, d2 = offering.days
    sheet.save_cells(
        session, offering.id, [cell(ann, d1, "present"), cell(ann, d2, "absent")], actor=facilitator
    )
    session.commit()
    result = closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert not result.attended and len(result.absent) == 3
    assert session.scalar(select(func.count()).select_from(Completion)) == 0


def test_someone_who_completed_the_item_before_keeps_that_record_and_reads_attended(
    session, held, facilitator
):
    from retreats_support import complete

    offering, people, (ann, _, _) = held
    complete(session, people[0].id, "M1")
    earlier = session.scalar(select(Completion.id).where(Completion.user_id == people[0].id))
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [cell(ann, d1, "present"), cell(ann, d2, "present")],
        actor=facilitator,
    )
    session.commit()
    result = closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert "Already completed" in result.attended[0].note
    assert session.scalars(
        select(Completion.id).where(Completion.user_id == people[0].id)
    ).all() == [earlier]


def test_an_offering_closes_from_its_last_day_by_its_facilitators_only(
    session, catalog, admin, facilitator, make_user
):
    running = held_offering(session, admin.id, facilitators=[facilitator.id], ended=-1)
    with pytest.raises(Conflict, match="from its last day"):
        closing.close_offering(session, running.id, actor=facilitator)
    session.rollback()
    ended = held_offering(session, admin.id, "M2", facilitators=[facilitator.id], ended=0)
    with pytest.raises(Forbidden):
        closing.close_offering(session, ended.id, actor=make_user(Role.INSTRUCTOR))
    session.rollback()
    closing.close_offering(session, ended.id, actor=facilitator)  # on its last day: fine
    session.commit()
    assert session.get(type(ended), ended.id).status == OfferingStatus.CLOSED

"""A day's hours changed after its participant report was imported: the report's cells are
judged again against the new length; cells typed by hand stay as typed."""

from __future__ import annotations

from datetime import time

import pytest
from attendance_support import enrol, held_offering, report
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.offerings import participants, schedule, sheet
from lms.offerings.attendance import token
from lms.offerings.days import DaySpec
from lms.offerings.models import Attendance, AttendanceSource
from lms.offerings.sheet import CellInput


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def facilitator(make_user):
    """An instructor who runs the offering."""
    return make_user(Role.INSTRUCTOR)


def marks(session):
    """{(enrolment id, day id): (present, minutes, source)} of every attendance row."""
    rows = session.scalars(select(Attendance))
    return {(a.enrolment_id, a.offering_day_id): (a.present, a.minutes, a.source) for a in rows}


def edited(offering, first_day_ends: time) -> schedule.OfferingInput:
    """The offering's own values with the first day ending at another time."""
    days = tuple(
        DaySpec(d.held_on, d.starts_at, first_day_ends if n == 0 else d.ends_at, d.ce_hours)
        for n, d in enumerate(offering.days)
    )
    return schedule.OfferingInput(
        days=days,
        capacity=offering.capacity,
        format=offering.format,
        location=offering.location,
        join_url=offering.join_url,
        facilitator_ids=tuple(f.user_id for f in offering.facilitators),
    )


def test_changing_a_days_hours_judges_its_report_again_and_keeps_typed_cells(
    session, catalog, admin, facilitator, make_user
):
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    ann, bo, cy = enrol(session, offering, people, admin.id)
    d1, d2 = offering.days
    text = report(("Ann", people[0].email, 390), ("Bo", people[1].email, 300), on=d1.held_on)
    participants.import_report(session, offering.id, d1.id, text, actor=facilitator)
    typed = CellInput(cy.id, d1.id, "present", 60, token(False, 0))  # the report said absent
    sheet.save_cells(session, offering.id, [typed], actor=admin)
    later = report(("Ann", people[0].email, 390), on=d2.held_on)
    participants.import_report(session, offering.id, d2.id, later, actor=facilitator)
    session.commit()
    report_source, manual = AttendanceSource.REPORT, AttendanceSource.MANUAL
    # 09:00-16:00 is 420 minutes: 90% is 378.
    assert marks(session)[(ann.id, d1.id)] == (True, 390, report_source)
    assert marks(session)[(bo.id, d1.id)] == (False, 300, report_source)

    # The first day really ran to 17:00 (480 minutes: 90% is 432): Ann's 390 no longer do.
    schedule.update_offering(
        session, offering.id, data=edited(offering, time(17)), actor_id=admin.id
    )
    session.commit()
    after = marks(session)
    assert after[(ann.id, d1.id)] == (False, 390, report_source)
    assert after[(bo.id, d1.id)] == (False, 300, report_source)
    assert after[(cy.id, d1.id)] == (True, 60, manual)  # typed by hand: the facilitator's word
    assert after[(ann.id, d2.id)] == (True, 390, report_source)  # the other day is unchanged
    why = session.scalars(
        select(AuditEvent.facts).where(AuditEvent.action == "attendance.recorded")
    ).all()
    assert sum(1 for d in why if d.get("why") == "the day's hours changed") == 1
    updated = session.scalars(
        select(AuditEvent.facts).where(AuditEvent.action == "offering.updated")
    ).all()
    assert updated[-1]["attendance_rejudged"] == 1

    # A shorter day (09:00-13:00, 240 minutes: 216 needed): both reach it now.
    schedule.update_offering(
        session, offering.id, data=edited(offering, time(13)), actor_id=admin.id
    )
    session.commit()
    assert marks(session)[(ann.id, d1.id)] == (True, 390, report_source)
    assert marks(session)[(bo.id, d1.id)] == (True, 300, report_source)


def test_a_change_that_keeps_every_days_length_judges_nothing_again(
    session, catalog, admin, facilitator, make_user
):
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    person = make_user(Role.CLINICIAN, name="Ann Lee")
    (ann,) = enrol(session, offering, [person], admin.id)
    d1 = offering.days[0]
    text = report(("Ann", person.email, 390), on=d1.held_on)
    participants.import_report(session, offering.id, d1.id, text, actor=facilitator)
    session.commit()
    data = edited(offering, d1.ends_at)
    data = schedule.OfferingInput(**{**data.__dict__, "capacity": data.capacity + 5})
    schedule.update_offering(session, offering.id, data=data, actor_id=admin.id)
    session.commit()
    updated = session.scalars(
        select(AuditEvent.facts).where(AuditEvent.action == "offering.updated")
    ).all()
    assert "attendance_rejudged" not in updated[-1]
    assert marks(session)[(ann.id, d1.id)] == (True, 390, AttendanceSource.REPORT)


def test_whoever_edits_the_offering_is_told_when_new_hours_changed_reported_attendance(
    app, login, session, catalog, admin, facilitator, make_user
):
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    person = make_user(Role.CLINICIAN, name="Ann Lee")
    (ann,) = enrol(session, offering, [person], admin.id)
    d1 = offering.days[0]
    text = report(("Ann", person.email, 390), on=d1.held_on)
    participants.import_report(session, offering.id, d1.id, text, actor=facilitator)
    session.commit()
    client = login(app.test_client(), admin)  # offerings are scheduled by administrators
    form = {
        "format": offering.format.value,
        "days": schedule.format_days(offering.days).replace("09:00-16:00", "09:00-17:00", 1),
        "location": offering.location,
        "join_url": offering.join_url,
        "capacity": str(offering.capacity),
        "facilitators": [str(facilitator.id)],
    }
    answer = client.post(f"/offerings/{offering.id}/edit", data=form, follow_redirects=True)
    assert answer.status_code == 200
    assert "changed 1 attendance cell taken from participant reports" in answer.text
    session.expire_all()
    assert marks(session)[(ann.id, d1.id)] == (False, 390, AttendanceSource.REPORT)

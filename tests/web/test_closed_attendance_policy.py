"""A closed offering is judged by the attendance policy its closing used: its grid (who meets
the policy, the minutes each day needed, the policy's sentence) and its printed record keep
saying what closing did after the catalogue's policy changes; reopened, it is judged by the
programme's policy again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from attendance_support import enrol, held_offering

from lms.auth.models import Role
from lms.catalog.models import ProgrammeSetting
from lms.offerings import closing, sheet
from lms.offerings.reports import offering_record
from lms.offerings.sheet import CellInput


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def facilitator(make_user):
    """The instructor who runs the offering."""
    return make_user(Role.INSTRUCTOR, name="Fay Facilitator")


def set_setting(session, key: str, value) -> None:
    """Change one programme setting, as reloading the catalogue file would."""
    session.get(ProgrammeSetting, key).value = value
    session.commit()


def set_partial_credit(session, allowed: bool) -> None:
    """Make every accreditation statement allow (or refuse) partial credit."""
    row = session.get(ProgrammeSetting, "accreditation_statements")
    row.value = [dict(s, partial_credit=allowed) for s in row.value]
    session.commit()


@pytest.fixture
def closed_at_80(session, catalog, admin, facilitator, make_user):
    """A two-day Module 1 offering (420-minute days) closed while a day counted from 80% of
    its minutes (336): Ann (350 and 350) and Bo (400 and 400) attended, Cy (350, then
    absent) did not; then the programme's share became 90% (378)."""
    set_setting(session, "attendance_share", 0.8)
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    ann, bo, cy = enrol(session, offering, people, admin.id)
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [
            CellInput(ann.id, d1.id, "", 350, ":"),  # the minutes alone: the policy decides
            CellInput(ann.id, d2.id, "", 350, ":"),
            CellInput(bo.id, d1.id, "", 400, ":"),
            CellInput(bo.id, d2.id, "", 400, ":"),
            CellInput(cy.id, d1.id, "", 350, ":"),
            CellInput(cy.id, d2.id, "absent", None, ":"),
        ],
        actor=facilitator,
    )
    session.commit()
    result = closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert {x.name for x in result.attended} == {"Ann Lee", "Bo Chen"}
    set_setting(session, "attendance_share", 0.9)
    return offering


def test_a_closed_grid_and_its_printed_record_judge_by_the_policy_closing_used(
    app, login, session, admin, facilitator, closed_at_80
):
    offering = closed_at_80
    grid = sheet.attendance_grid(session, offering.id, viewer=facilitator)
    assert grid.policy.share == Decimal("0.8")
    assert {r.enrolment.user.name for r in grid.rows if r.verdict.met} == {"Ann Lee", "Bo Chen"}
    assert [d.needed for d in grid.days] == [336, 336]
    page = login(app.test_client(), facilitator).get(f"/offerings/{offering.id}/attendance").text
    assert "<strong>2</strong> meeting the policy" in page
    assert page.count("Attended</span> 8 CE hours") == 2
    assert "336 min needed" in page and "378 min needed" not in page
    assert "A day counts as attended from 80% of its minutes." in page
    _, content = offering_record(session, offering.id, viewer=facilitator, today=grid.today)
    assert content["policy"].startswith("A day counts as attended from 80% of its minutes.")

    # Reopened, its attendance can change again: it is judged by the programme's policy now.
    closing.reopen_offering(session, offering.id, actor=admin, reason="Check Ann's minutes")
    session.commit()
    reopened = sheet.attendance_grid(session, offering.id, viewer=facilitator)
    assert reopened.policy.share == Decimal("0.9")
    assert [d.needed for d in reopened.days] == [378, 378]
    # The cells stay as they were saved (Ann's 350 minutes were judged present then).
    assert {r.enrolment.user.name for r in reopened.rows if r.verdict.met} == {"Ann Lee", "Bo Chen"}


def test_a_closed_grid_keeps_the_partial_credit_rule_closing_used(
    app, login, session, catalog, admin, facilitator, make_user
):
    set_partial_credit(session, False)  # APA gives no partial credit
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    (ann,) = enrol(session, offering, [make_user(Role.CLINICIAN, name="Ann Lee")], admin.id)
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [
            CellInput(ann.id, d1.id, "present", None, ":"),
            CellInput(ann.id, d2.id, "absent", None, ":"),
        ],
        actor=facilitator,
    )
    session.commit()
    result = closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    assert [x.name for x in result.absent] == ["Ann Lee"]
    set_partial_credit(session, True)  # every accreditor allows it now
    grid = sheet.attendance_grid(session, offering.id, viewer=facilitator)
    assert grid.policy.partial_credit is False
    assert "no partial credit: American Psychological Association (APA)" in grid.policy.describe()
    assert not grid.rows[0].verdict.met  # as closing judged her: no completion, no hours
    page = login(app.test_client(), facilitator).get(f"/offerings/{offering.id}/attendance").text
    assert "<strong>0</strong> meeting the policy" in page
    assert "Partial credit" not in page

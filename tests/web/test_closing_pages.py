"""Closing from the pages: a confirmation page lists what closing will record and asks, the
form must say it was confirmed, a plan changed meanwhile is shown again; administrators alone
reopen, with a reason; a retreat session's roster closes the same way and then says so."""

from __future__ import annotations

import re

import pytest
from attendance_support import enrol, held_offering
from retreats_support import add_session
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.offerings import closing, sheet
from lms.offerings.models import Enrolment, EnrolmentStatus, Offering, OfferingStatus
from lms.offerings.sheet import CellInput
from lms.progress.models import Completion
from lms.retreats import services as retreats

PLAN = re.compile(r'name="plan" type="hidden" value="([0-9a-f]*)"')


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def facilitator(make_user):
    """The instructor who runs the offering."""
    return make_user(Role.INSTRUCTOR, name="Fay Facilitator")


@pytest.fixture
def held(session, catalog, admin, facilitator, make_user):
    """A two-day Module 1 offering that ended yesterday: Ann attended both days, Bo one."""
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen")]
    ann, bo = enrol(session, offering, people, admin.id)
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [
            CellInput(ann.id, d1.id, "present", None, ":"),
            CellInput(ann.id, d2.id, "present", None, ":"),
            CellInput(bo.id, d1.id, "present", None, ":"),
        ],
        actor=facilitator,
    )
    session.commit()
    return offering, people, (ann, bo)


def completions(session) -> int:
    """How many completions exist (revoked ones included)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(Completion))


def status_of(session, offering_id) -> OfferingStatus:
    """The offering's stored status, read afresh."""
    session.rollback()
    return session.scalar(select(Offering.status).where(Offering.id == offering_id))


def test_the_grid_links_to_a_confirmation_that_lists_everyone_and_records_nothing(
    app, login, session, held, facilitator
):
    offering, _, _ = held
    browser = login(app.test_client(), facilitator)
    grid = browser.get(f"/offerings/{offering.id}/attendance").text
    assert f'href="/offerings/{offering.id}/close"' in grid
    assert 'action="/offerings/' not in grid.split('id="closing"')[1].split("<h2>")[0]
    page = browser.get(f"/offerings/{offering.id}/close")
    assert page.status_code == 200
    text = page.text
    assert "A completion is recorded (1)" in text and "Ann Lee — 8 CE hours" in text
    assert "Marked absent (1)" in text and "Bo Chen: missed" in text and "not recorded" in text
    assert (
        'name="confirm" value="yes"' in text
        and "Closing records 1 completion; 1 person reads absent." in text
    )
    assert PLAN.search(text)[1]
    assert completions(session) == 0 and status_of(session, offering.id) == "scheduled"


def test_closing_needs_the_confirm_field_and_the_plan_the_page_showed(
    app, login, session, held, facilitator, make_user
):
    offering, _, (ann, bo) = held
    browser = login(app.test_client(), facilitator)
    plan = PLAN.search(browser.get(f"/offerings/{offering.id}/close").text)[1]
    unconfirmed = browser.post(f"/offerings/{offering.id}/close", data={"plan": plan})
    assert unconfirmed.status_code == 302
    assert unconfirmed.location.endswith(f"/offerings/{offering.id}/close")
    assert "confirm on this page" in browser.get(unconfirmed.location).text
    assert status_of(session, offering.id) == "scheduled" and completions(session) == 0
    # Meanwhile Bo's second day is recorded: the old plan is not carried out.
    d2 = offering.days[1]
    sheet.save_cells(
        session, offering.id, [CellInput(bo.id, d2.id, "present", None, ":")], actor=facilitator
    )
    session.commit()
    stale = browser.post(f"/offerings/{offering.id}/close", data={"plan": plan, "confirm": "yes"})
    assert stale.status_code == 409
    assert "changed since this list was drawn" in stale.text
    assert "A completion is recorded (2)" in stale.text
    assert status_of(session, offering.id) == "scheduled" and completions(session) == 0
    fresh = PLAN.search(stale.text)[1]
    assert fresh != plan
    done = browser.post(f"/offerings/{offering.id}/close", data={"plan": fresh, "confirm": "yes"})
    assert done.status_code == 302
    assert "Closed: 2 attended, 0 absent." in browser.get(done.location).text
    assert status_of(session, offering.id) == "closed" and completions(session) == 2


def test_only_an_administrator_reopens_with_a_reason_and_closing_again_asks_for_one(
    app, login, session, held, admin, facilitator
):
    offering, (ann_user, _), (ann, bo) = held
    closing.close_offering(session, offering.id, actor=facilitator)
    session.commit()
    by_facilitator = login(app.test_client(), facilitator)
    grid = by_facilitator.get(f"/offerings/{offering.id}/attendance").text
    assert "Reopen" not in grid and "An administrator can reopen it" in grid
    denied = by_facilitator.post(f"/offerings/{offering.id}/reopen", data={"reason": "Mine"})
    assert denied.status_code == 403 and status_of(session, offering.id) == "closed"

    browser = login(app.test_client(), admin)
    assert "Reopen the offering" in browser.get(f"/offerings/{offering.id}/attendance").text
    no_reason = browser.post(f"/offerings/{offering.id}/reopen", data={"reason": " "})
    assert no_reason.status_code == 302
    assert "reason" in browser.get(no_reason.location).text
    assert status_of(session, offering.id) == "closed"
    reason = "Ann left on day 2: the report was wrong"
    reopened = browser.post(f"/offerings/{offering.id}/reopen", data={"reason": reason})
    assert reopened.status_code == 302 and status_of(session, offering.id) == "scheduled"
    grid = browser.get(reopened.location).text
    assert "Reopened on" in grid and reason in grid and "present-" in grid

    d2 = offering.days[1]
    sheet.save_cells(
        session, offering.id, [CellInput(ann.id, d2.id, "absent", None, "1:")], actor=admin
    )
    session.commit()
    page = browser.get(f"/offerings/{offering.id}/close").text
    assert "A completion is revoked (1)" in page and "Ann Lee" in page
    assert reason in page  # the reopening's reason, offered for the revocation
    plan = PLAN.search(page)[1]
    empty = browser.post(
        f"/offerings/{offering.id}/close", data={"plan": plan, "confirm": "yes", "reason": ""}
    )
    assert empty.status_code == 422 and "Give a reason" in empty.text
    assert status_of(session, offering.id) == "scheduled"
    done = browser.post(
        f"/offerings/{offering.id}/close", data={"plan": plan, "confirm": "yes", "reason": reason}
    )
    assert done.status_code == 302
    assert "1 completion revoked" in browser.get(done.location).text
    revoked = session.scalar(select(Completion).where(Completion.user_id == ann_user.id))
    assert revoked.revoke_reason == reason


def test_an_instructor_closes_a_retreat_session_from_its_roster_which_then_says_closed(
    app, login, session, catalog, make_user
):
    instructor = make_user(Role.INSTRUCTOR)
    retreat_session = add_session(session, starts_in=-6, days=5, capacity=16)
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Leila Haddad", "Priya Raman")]
    applications = [
        Enrolment(user_id=p.id, offering_id=retreat_session.id, status=EnrolmentStatus.ENROLLED)
        for p in people
    ]
    session.add_all(applications)
    session.commit()
    retreats.mark_attendance(session, applications[0].id, actor_id=instructor.id, attended=True)
    session.commit()
    browser = login(app.test_client(), instructor)
    roster = browser.get(f"/retreats/sessions/{retreat_session.id}/roster").text
    assert "Ended, to be closed" in roster and "places left" not in roster
    assert "1</strong> not marked yet" in roster
    assert f'href="/offerings/{retreat_session.id}/close"' in roster
    page = browser.get(f"/offerings/{retreat_session.id}/close").text
    assert "Leila Haddad: Recorded on" in page  # by the roster mark; kept
    assert "Priya Raman: attendance not marked on the roster" in page
    assert "CE hours" not in page
    plan = PLAN.search(page)[1]
    done = browser.post(
        f"/offerings/{retreat_session.id}/close", data={"plan": plan, "confirm": "yes"}
    )
    assert done.status_code == 302
    assert done.location.endswith(f"/retreats/sessions/{retreat_session.id}/roster#closing")
    roster = browser.get(done.location).text
    assert '<span class="badge ok">Closed</span>' in roster
    assert "1</strong> attended" in roster and "1</strong> absent" in roster
    assert "places left" not in roster and "Enroll by" not in roster
    assert 'name="outcome"' not in roster  # no marking once closed
    assert "An administrator can reopen it" in roster


def test_a_retreat_session_left_unclosed_two_weeks_waits_on_the_staff_home(
    app, login, session, catalog, make_user
):
    from offerings_support import close_past_sessions

    admin = make_user(Role.ADMIN)
    close_past_sessions(session, admin.id)  # the catalogue's 2024 sessions
    add_session(session, starts_in=-20, days=5)  # ended 16 days ago
    home = login(app.test_client(), make_user(Role.INSTRUCTOR)).get("/").text
    assert "1 offering not closed 14 days after its last day" in " ".join(home.split())
    listed = login(app.test_client(), admin).get("/offerings/manage?shown=to-close").text
    assert "Level 1" in listed and "Applications" in listed

"""The progress pages through the test client: dashboard, roster, record, marking, revoking."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from certificates_support import record
from clock_support import programme_today
from offerings_support import cancel
from retreats_support import add_session, approve_credit, screening
from sqlalchemy import func, select

from lms import signals
from lms.auth.models import Role
from lms.offerings.closing import close_offering
from lms.progress.models import Completion
from lms.retreats import services as retreats


@pytest.fixture
def instructor(make_user):
    """An instructor."""
    return make_user(Role.INSTRUCTOR, name="Ina Instructor")


@pytest.fixture
def clinician(make_user):
    """A licensed clinician who has completed nothing."""
    return make_user(Role.CLINICIAN, name="Cal Clinician", email="cal@example.test")


def signed_in(app, login, user):
    """A fresh client signed in as the user."""
    return login(app.test_client(), user)


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def live_count(session, user_id: int) -> int:
    """Live completions of a person."""
    session.expire_all()
    return session.scalar(
        select(func.count())
        .select_from(Completion)
        .where(Completion.user_id == user_id, Completion.revoked_at.is_(None))
    )


def test_after_an_instructor_marks_module_1_the_dashboard_shows_it_and_level_1_opens(
    app, login, catalog, instructor, clinician, session
):
    staff = signed_in(app, login, instructor)
    response = staff.post(
        f"/clinicians/{clinician.id}/completions",
        data={"item_code": "M1", "completed_on": "2024-03-02", "note": "Spring cohort"},
    )
    assert response.status_code == 302
    assert staff.get(response.location).status_code == 200

    page = signed_in(app, login, clinician).get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    words = text_of(page)
    m1_row = re.search(r'<tr id="item-M1" data-state="(\w+)"', html)
    assert m1_row and m1_row.group(1) == "completed"
    assert "Mar 2, 2024" in words
    assert f"{catalog['M1'].ce_hours.normalize():f} CE hours earned" in words
    level1 = re.search(
        r'<article class="card retreat" id="item-RETREAT-L1" data-state="(\w+)"', html
    )
    assert level1 and level1.group(1) == "available"
    advanced = html[html.index('id="item-RETREAT-ADV"') :]
    advanced = advanced[: advanced.index("</article>")]
    assert 'data-state="locked"' in advanced
    assert "Why it is locked:" in advanced
    assert "Level 1 Retreat" in advanced  # names what is missing
    assert "Completing Modules 1–5 before this retreat is recommended." in words


def test_a_pre_licensed_clinician_sees_modules_open_and_retreats_locked_for_the_licence(
    app, login, catalog, make_user, session
):
    trainee = make_user(Role.CLINICIAN, licensed=False)
    record(session, trainee.id, "M1", on=date(2024, 1, 10))
    session.commit()

    html = signed_in(app, login, trainee).get("/").get_data(as_text=True)

    assert re.search(r'id="item-M2" data-state="available"', html)
    assert re.search(r'id="item-RETREAT-L1" data-state="locked"', html)
    assert "license" in html[html.index('id="item-RETREAT-L1"') :].split("</article>")[0]


def test_a_pending_equivalency_is_shown_as_pending_and_unlocks_nothing(
    app, login, catalog, clinician, session
):
    from lms.equivalency.models import EquivalencyRequest

    request = EquivalencyRequest(
        user_id=clinician.id, item_id=catalog["M1"].id, outside_programme="KTC"
    )
    session.add(request)
    session.flush()
    signals.equivalency_requested.send(request, session=session)
    session.commit()

    page = signed_in(app, login, clinician).get("/")
    words = text_of(page)

    assert "pending approval" in words
    assert re.search(r'id="item-M2" data-state="locked"', page.get_data(as_text=True))


def test_marking_an_item_twice_re_renders_the_record_with_a_conflict_and_changes_nothing(
    app, login, catalog, instructor, clinician, session
):
    staff = signed_in(app, login, instructor)
    data = {"item_code": "M1", "completed_on": "2024-03-02"}
    assert staff.post(f"/clinicians/{clinician.id}/completions", data=data).status_code == 302

    again = staff.post(f"/clinicians/{clinician.id}/completions", data=data)

    assert again.status_code == 409
    assert "already recorded as completed on Mar 2, 2024" in text_of(again)
    assert live_count(session, clinician.id) == 1


def test_a_future_date_is_refused_with_a_message(
    app, login, catalog, instructor, clinician, session
):
    client = signed_in(app, login, instructor)
    next_month = (programme_today() + timedelta(days=30)).isoformat()
    response = client.post(
        f"/clinicians/{clinician.id}/completions",
        data={"item_code": "M1", "completed_on": next_month},
    )
    assert response.status_code == 422
    assert "in the future" in text_of(response)
    # Beyond the dates any form takes (1900-2100), the shared bound answers first.
    far = client.post(
        f"/clinicians/{clinician.id}/completions",
        data={"item_code": "M1", "completed_on": "2999-01-01"},
    )
    assert far.status_code == 422 and "between Jan 1, 1900 and Dec 31, 2100" in text_of(far)
    assert live_count(session, clinician.id) == 0


def test_revoking_needs_a_reason_then_shows_the_revocation_in_the_history(
    app, login, catalog, instructor, clinician, session
):
    completion = record(session, clinician.id, "M1", on=date(2024, 3, 2), actor_id=instructor.id)
    session.commit()
    staff = signed_in(app, login, instructor)
    url = f"/clinicians/{clinician.id}/completions/{completion.id}/revoke"

    refused = staff.post(url, data={"reason": ""})
    assert refused.status_code == 422
    assert live_count(session, clinician.id) == 1

    done = staff.post(url, data={"reason": "Marked for the wrong person"})
    assert done.status_code == 302
    assert live_count(session, clinician.id) == 0
    page = text_of(staff.get(done.location))
    assert "Revoked" in page and "Reason: Marked for the wrong person" in page
    assert "by Ina Instructor" in page

    # The clinician's dashboard links to their own record, which lists the revoked line
    # with its reason (the dashboard itself shows where they stand now).
    mine = signed_in(app, login, clinician)
    dashboard = mine.get("/").get_data(as_text=True)
    assert f'href="/clinicians/{clinician.id}">Completion history</a>' in dashboard
    own = text_of(mine.get(f"/clinicians/{clinician.id}"))
    assert "Revoked" in own and "Reason: Marked for the wrong person" in own


def test_a_revoke_url_with_another_clinicians_completion_is_not_found(
    app, login, catalog, instructor, clinician, make_user, session
):
    other = make_user(Role.CLINICIAN)
    completion = record(session, other.id, "M1", on=date(2024, 3, 2))
    session.commit()
    response = signed_in(app, login, instructor).post(
        f"/clinicians/{clinician.id}/completions/{completion.id}/revoke", data={"reason": "x"}
    )
    assert response.status_code == 404
    assert live_count(session, other.id) == 1


def test_cohort_marking_records_the_ticked_and_pasted_and_lists_the_skipped(
    app, login, catalog, instructor, make_user, session
):
    done = make_user(Role.CLINICIAN, name="Dana Done")
    ticked = make_user(Role.CLINICIAN, name="Tia Ticked")
    pasted = make_user(Role.CLINICIAN, name="Pat Pasted", email="pat@example.test")
    record(session, done.id, "M2", on=date(2024, 1, 5))
    session.commit()
    staff = signed_in(app, login, instructor)
    form = staff.get("/mark")
    assert form.status_code == 200
    assert "Tia Ticked" in form.get_data(as_text=True)

    response = staff.post(
        "/mark",
        data={
            "item_code": "M2",
            "completed_on": "2024-04-20",
            "note": "April cohort",
            "user_id": [str(done.id), str(ticked.id)],
            "emails": "PAT@example.test\n",
        },
    )

    assert response.status_code == 302
    result = text_of(staff.get(response.location))
    assert "Recorded (2)" in result and "Tia Ticked" in result and "Pat Pasted" in result
    assert "Skipped (1)" in result and "Already completed on Jan 5, 2024." in result
    assert live_count(session, ticked.id) == 1 and live_count(session, pasted.id) == 1


def test_cohort_marking_with_an_unknown_email_records_nobody(
    app, login, catalog, instructor, clinician, session
):
    response = signed_in(app, login, instructor).post(
        "/mark",
        data={
            "item_code": "M1",
            "completed_on": "2024-04-20",
            "user_id": [str(clinician.id)],
            "emails": "typo@exmaple.test",
        },
    )
    assert response.status_code == 422
    assert "typo@exmaple.test" in text_of(response)
    assert live_count(session, clinician.id) == 0


def test_a_clinician_sees_their_own_record_but_not_anothers(
    app, login, catalog, clinician, make_user
):
    other = make_user(Role.CLINICIAN)
    client = signed_in(app, login, clinician)

    assert client.get(f"/clinicians/{clinician.id}").status_code == 200
    assert client.get(f"/clinicians/{other.id}").status_code == 404
    assert client.get("/clinicians/999999").status_code == 404


def test_a_clinician_can_mark_revoke_or_use_staff_pages_for_nobody(
    app, login, catalog, clinician, make_user, session
):
    other = make_user(Role.CLINICIAN)
    completion = record(session, other.id, "M1", on=date(2024, 3, 2))
    session.commit()
    client = signed_in(app, login, clinician)
    data = {"item_code": "M1", "completed_on": "2024-03-02"}

    assert client.post(f"/clinicians/{clinician.id}/completions", data=data).status_code == 403
    assert client.post(f"/clinicians/{other.id}/completions", data=data).status_code == 403
    revoke = f"/clinicians/{other.id}/completions/{completion.id}/revoke"
    assert client.post(revoke, data={"reason": "mine now"}).status_code == 403
    assert client.post("/mark", data={**data, "user_id": [str(clinician.id)]}).status_code == 403
    assert client.get("/roster").status_code == 403
    assert client.get("/mark").status_code == 403
    assert live_count(session, clinician.id) == 0 and live_count(session, other.id) == 1


def test_guests_are_sent_to_sign_in(client, catalog):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_the_roster_searches_and_filters_eligible_but_not_applied(
    app, login, catalog, instructor, make_user, session
):
    eligible = make_user(Role.CLINICIAN, name="Eve Eligible")
    beginner = make_user(Role.CLINICIAN, name="Ben Beginner")
    trainee = make_user(Role.CLINICIAN, name="Pia Prelicensed", licensed=False)
    for person in (eligible, trainee):
        record(session, person.id, "M1", on=date(2024, 3, 2))
    session.commit()
    staff = signed_in(app, login, instructor)

    everyone = text_of(staff.get("/roster"))
    assert all(n in everyone for n in ("Eve Eligible", "Ben Beginner", "Pia Prelicensed"))

    filtered = text_of(staff.get("/roster?eligible=RETREAT-L1&applied=no"))
    assert "Eve Eligible" in filtered
    assert "Ben Beginner" not in filtered and "Pia Prelicensed" not in filtered

    missing = text_of(staff.get("/roster?missing=M1"))
    assert "Ben Beginner" in missing and "Eve Eligible" not in missing

    prelicensed = text_of(staff.get("/roster?licence=pre-licensed"))
    assert "Pia Prelicensed" in prelicensed and "Eve Eligible" not in prelicensed

    by_item = text_of(staff.get("/roster?item=M1&item_state=not_completed"))
    assert "Ben Beginner" in by_item and "Eve Eligible" not in by_item

    search = text_of(staff.get(f"/roster?q={beginner.email.upper()}"))
    assert "Ben Beginner" in search and "Eve Eligible" not in search

    bad = staff.get("/roster?eligible=NOPE")
    assert bad.status_code == 422 and "Unknown retreat" in text_of(bad)


def _level1_cell(page: str, name: str) -> str:
    """The Level 1 retreat's cell of one clinician's roster row, as text."""
    row = page.split(name, 1)[1].split("</tr>", 1)[0]
    cell = row.split('data-label="Level 1 Retreat">', 1)[1].split("</td>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()


def test_the_roster_says_credited_for_a_credited_retreat_and_not_eligible_to_apply(
    app, login, catalog, instructor, make_user, session
):
    credited = make_user(Role.CLINICIAN, name="Cora Credited")
    eligible = make_user(Role.CLINICIAN, name="Eve Eligible")
    for person in (credited, eligible):
        record(session, person.id, "M1", on=date(2024, 3, 2))
    session.commit()
    approve_credit(session, credited.id, "RETREAT-L1", instructor.id)
    staff = signed_in(app, login, instructor)
    # The first retreat's column is Level 1's: it says the one state the dashboard says.
    assert _level1_cell(staff.get("/roster").text, "Cora Credited").startswith(
        "Credited (equivalent approved)"
    )
    preset = text_of(staff.get("/roster?eligible=RETREAT-L1&applied=no"))
    assert "Eve Eligible" in preset and "Cora Credited" not in preset


def test_the_roster_counts_a_waitlist_place_in_a_closed_or_cancelled_session_as_not_applied(
    app, login, catalog, instructor, make_user, session
):
    ran = add_session(session, starts_in=20, capacity=1, location="Big Sur, CA")
    called_off = add_session(session, starts_in=40, location="Ojai, CA")
    holder = make_user(Role.CLINICIAN, name="Hal Holder")
    waiting = make_user(Role.CLINICIAN, name="Casey Waiting")
    enrolled = make_user(Role.CLINICIAN, name="Ena Enrolled")
    for person, offering in ((holder, ran), (waiting, ran), (enrolled, called_off)):
        record(session, person.id, "M1", on=date(2024, 3, 2))
        application = retreats.apply(
            session,
            user_id=person.id,
            session_id=offering.id,
            screening=screening(),
            screening_key=app.config["LMS_SCREENING_KEY"],
        )
        retreats.decide_screening(session, application.id, reviewer_id=instructor.id, clear=True)
        session.commit()
    staff = signed_in(app, login, instructor)
    applied = text_of(staff.get("/roster?eligible=RETREAT-L1&applied=yes"))
    assert "Casey Waiting" in applied and "Ena Enrolled" in applied
    admin = make_user(Role.ADMIN)
    close_offering(session, ran.id, actor=admin, today=ran.ends_on)
    session.commit()
    cancel(session, called_off, admin.id)
    not_applied = text_of(staff.get("/roster?eligible=RETREAT-L1&applied=no"))
    assert "Casey Waiting" in not_applied and "Ena Enrolled" in not_applied
    assert "Hal Holder" not in not_applied  # absent from the session that ran: as before
    for name in ("Casey Waiting", "Ena Enrolled"):
        assert _level1_cell(staff.get("/roster").text, name) == "Open"


def test_the_roster_pages_by_fifty(app, login, catalog, instructor, make_user):
    for n in range(53):
        make_user(Role.CLINICIAN, name=f"Clinician {n:02d}")
    staff = signed_in(app, login, instructor)

    first = text_of(staff.get("/roster"))
    second = text_of(staff.get("/roster?page=2"))

    assert "Showing 1–50 of 53 clinicians" in first and "Clinician 49" in first
    assert "Showing 51–53 of 53 clinicians" in second and "Clinician 52" in second
    assert "Clinician 00" not in second


def test_staff_without_a_clinician_role_get_a_staff_home(app, login, catalog, instructor):
    page = signed_in(app, login, instructor).get("/")
    words = text_of(page)
    assert page.status_code == 200
    assert "Waiting for you" in words and "Roster of clinicians" in words
    assert "Core modules" not in words and "no progress to show" not in words


def test_a_medical_reviewer_gets_a_home_of_their_own_work(app, login, make_user):
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    page = signed_in(app, login, reviewer).get("/")
    assert page.status_code == 200
    words = text_of(page)
    assert "Waiting for you" in words and "Nothing is waiting for you." in words
    assert "Roster of clinicians" not in words and "no progress to show" not in words


def test_with_csrf_on_a_mark_without_its_token_changes_nothing(
    app_config, catalog, make_user, login, session
):
    from lms import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    guarded = create_app(app_config)
    instructor = make_user(Role.INSTRUCTOR)
    clinician = make_user(Role.CLINICIAN)
    client = login(guarded.test_client(), instructor)
    try:
        response = client.post(
            f"/clinicians/{clinician.id}/completions",
            data={"item_code": "M1", "completed_on": "2024-03-02"},
        )
        cohort = client.post(
            "/mark",
            data={"item_code": "M1", "completed_on": "2024-03-02", "user_id": [str(clinician.id)]},
        )
    finally:
        guarded.extensions["lms"].db.engine.dispose()

    assert response.status_code == 400 and cohort.status_code == 400
    assert live_count(session, clinician.id) == 0

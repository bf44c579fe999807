"""The staff home: what waits for me, what is coming up, the programme in numbers, in a
constant number of queries, and never a screening answer."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from retreats_support import add_session, complete

from lms import dates
from lms.auth.models import Role
from lms.equivalency.models import EquivalencyRequest
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
from lms.progress.staff_home import completions_by_month, last_months


def text_of(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def home(app, login, user) -> str:
    """The signed-in person's home page."""
    response = login(app.test_client(), user).get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def give_the_programme_work(session, catalog, make_user, n: int) -> None:
    """`n` of everything the home counts: clinicians with completions, credit requests, a
    retreat session that has ended with people to mark, and upcoming offerings."""
    ended = add_session(session, starts_in=-10, location=f"Past Place {n}")
    coming = add_session(session, starts_in=40, capacity=n + 2, location=f"Next Place {n}")
    for i in range(n):
        person = make_user(Role.CLINICIAN)
        complete(session, person.id, "M1", on=programme_today() - timedelta(days=31 * (i % 3)))
        session.add(
            EquivalencyRequest(user_id=person.id, item_id=catalog["M2"].id, outside_programme="KTC")
        )
        session.add(
            Enrolment(user_id=person.id, offering_id=ended.id, status=EnrolmentStatus.ENROLLED)
        )
        session.add(
            Enrolment(user_id=person.id, offering_id=coming.id, status=EnrolmentStatus.ENROLLED)
        )
    session.commit()


def test_an_instructor_sees_what_waits_what_comes_and_the_numbers(
    app, login, catalog, make_user, session
):
    give_the_programme_work(session, catalog, make_user, 3)
    html = home(app, login, make_user(Role.INSTRUCTOR))
    words = text_of(html)
    assert "Waiting for you" in words
    assert "3 credit requests to decide" in words and 'href="/equivalency/review"' in html
    assert "3 people to mark attended or absent: Level 1 Retreat" in words
    assert "Past Place 3" in words and "Mark attendance" in words
    assert "screening" not in words.lower().split("waiting for you")[1].split("coming up")[0]
    coming = html[html.index('id="upcoming-heading"') :].split("</section>")[0]
    assert "Next Place 3" in coming and re.search(r"<strong>3</strong> of 5", coming)
    assert "Completions per month" in words and "Clinicians at each stage" in words
    this_month = dates.month(programme_today().year, programme_today().month)
    assert re.search(rf"<th scope=\"row\">{this_month}</th><td>\d+</td>", html)
    assert '<th scope="row">Module 1</th><td>3</td>' in html  # the three clinicians
    assert '<th scope="row">Before Module 1</th><td>0</td>' in html
    assert 'role="img" aria-label="Completions per month,' in html


def test_a_medical_reviewer_sees_the_screenings_to_review_and_nothing_else(
    app, login, catalog, make_user, session
):
    give_the_programme_work(session, catalog, make_user, 2)
    retreat = add_session(session, starts_in=50, location="Review Place")
    applicant = make_user(Role.CLINICIAN, name="Hidden Applicant")
    session.add(Enrolment(user_id=applicant.id, offering_id=retreat.id))  # in medical review
    session.commit()
    html = home(app, login, make_user(Role.MEDICAL_REVIEWER))
    words = text_of(html)
    assert "1 screening waiting for medical review" in words
    assert 'href="/retreats/review"' in html
    assert "Hidden Applicant" not in words  # counts, never who
    assert "credit request" not in words and "Coming up" not in words
    assert "Completions per month" not in words and "mark attended" not in words


def test_the_home_counts_what_the_pages_it_links_to_hold(app, login, catalog, make_user, session):
    """A reviewer's own application is another reviewer's to screen, and a cancelled session
    has no attendance to mark: the queue and the roster say so, and so does the home."""
    applicant = make_user(Role.CLINICIAN, Role.MEDICAL_REVIEWER, Role.INSTRUCTOR)
    coming = add_session(session, starts_in=50, location="Review Place")
    session.add(Enrolment(user_id=applicant.id, offering_id=coming.id))  # in medical review
    cancelled = add_session(session, starts_in=-10, location="Cancelled Place")
    cancelled.status = OfferingStatus.CANCELLED
    session.add(
        Enrolment(user_id=applicant.id, offering_id=cancelled.id, status=EnrolmentStatus.ENROLLED)
    )
    session.commit()
    words = text_of(home(app, login, applicant))
    assert "screening" not in words.split("Waiting for you")[-1].split("Coming up")[0]
    assert "Cancelled Place" not in words and "mark attended" not in words
    colleague = text_of(home(app, login, make_user(Role.MEDICAL_REVIEWER)))
    assert "1 screening waiting for medical review" in colleague


def test_nothing_waiting_says_so(app, login, catalog, make_user, session):
    from offerings_support import close_past_sessions

    # The default catalogue's 2024 retreat sessions are over and wait to be closed.
    instructor = make_user(Role.INSTRUCTOR)
    said = "4 offerings not closed 14 days after their last day"
    assert said in text_of(home(app, login, instructor))
    assert close_past_sessions(session, make_user(Role.ADMIN).id) == 4
    words = text_of(home(app, login, instructor))
    assert "Nothing is waiting for you." in words
    assert "Nothing is scheduled yet." in words or "Coming up" in words


@pytest.mark.parametrize("admin_too", [False, True])
def test_the_staff_home_runs_the_same_queries_for_a_little_or_a_lot(
    app, login, catalog, make_user, session, engine, admin_too, count_queries
):
    roles = (
        (Role.INSTRUCTOR, Role.ADMIN, Role.MEDICAL_REVIEWER) if admin_too else (Role.INSTRUCTOR,)
    )
    staff = make_user(*roles)
    client = login(app.test_client(), staff)
    give_the_programme_work(session, catalog, make_user, 2)
    client.get("/")  # the catalogue is read once and kept
    with count_queries() as few:
        assert client.get("/").status_code == 200
    give_the_programme_work(session, catalog, make_user, 15)
    with count_queries() as many:
        assert client.get("/").status_code == 200
    assert len(few) == len(many), (few, many)
    assert len(few) <= 12, few


def test_completions_per_month_count_live_completions_by_the_day_they_happened(
    app, catalog, make_user, session
):
    on = date(2026, 3, 15)
    person = make_user(Role.CLINICIAN)
    complete(session, person.id, "M1", on=date(2026, 3, 1))
    complete(session, person.id, "M2", on=date(2025, 12, 31))
    complete(session, person.id, "M3", on=date(2025, 3, 31))  # thirteen months back: left out
    months = completions_by_month(session, on)
    assert len(months) == 12 and months[0][:2] == (2025, 4) and months[-1][:2] == (2026, 3)
    counts = {(y, m): n for y, m, n in months}
    assert counts[(2026, 3)] == 1 and counts[(2025, 12)] == 1 and sum(counts.values()) == 2


def test_twelve_months_end_with_this_one_across_a_year():
    months = last_months(date(2026, 2, 10))
    assert months[0] == (2025, 3) and months[-2:] == [(2026, 1), (2026, 2)]


def test_an_offering_left_unclosed_two_weeks_after_its_last_day_waits_on_the_staff_home(
    app, login, catalog, make_user, session
):
    """Thirteen days on it is not yet news; fifteen days on it is, until someone closes it."""
    from datetime import datetime, time

    from clock_support import PACIFIC, pinned
    from offerings_support import add_offering, close_past_sessions

    from lms.offerings import closing

    admin = make_user(Role.ADMIN)
    instructor = make_user(Role.INSTRUCTOR)
    close_past_sessions(session, admin.id)  # the catalogue's 2024 retreat sessions
    offering = add_offering(session, admin.id, starts_in=2, days=1)
    session.commit()

    def on(days_after: int) -> datetime:
        return datetime.combine(
            offering.ends_on + timedelta(days=days_after), time(10), tzinfo=PACIFIC
        )

    said = "1 offering not closed 14 days after its last day"
    with pinned(on(13)):
        assert said not in text_of(home(app, login, instructor))
    with pinned(on(15)):
        words = text_of(home(app, login, instructor))
        assert said in words and "Close them" in words
        closing.close_offering(session, offering.id, actor=admin)
        session.commit()
        assert said not in text_of(home(app, login, instructor))

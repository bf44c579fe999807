"""The pages that list dates to come say what the one rule says (Offering.refusal_to_join):
an offering on its first day has started, so it is no longer offered; a deadline that has
passed reads "enrollment closed" or "applications closed", never as a day still to enrol or
apply by, and offers no Apply link."""

from __future__ import annotations

import pytest
from retreats_support import add_session, complete

from lms.auth.models import Role


@pytest.fixture
def clinician(session, make_user, catalog):
    """A clinician who completed Module 1 (the Level 1 retreat is open to them)."""
    user = make_user(Role.CLINICIAN, name="Cleo Clinician")
    complete(session, user.id, "M1")
    return user


@pytest.fixture
def dated(session, catalog):
    """Module 1 runs starting today, and in ten days with a deadline passed yesterday;
    Level 1 retreat sessions whose deadline passed yesterday, and one still open."""
    return {
        "module today": add_session(session, "M1", starts_in=0, days=2, location="First Day Hall"),
        "module closed": add_session(
            session, "M1", starts_in=10, days=2, deadline_in=-1, location="Late Hall"
        ),
        "retreat closed": add_session(session, starts_in=30, deadline_in=-1, location="Shut Town"),
        "retreat open": add_session(session, starts_in=40, deadline_in=5, location="Open Town"),
    }


def _line(page: str, place: str, end: str) -> str:
    """The part of the page about one offering: from its place to the end of its line."""
    assert place in page, place
    return page.split(place, 1)[1].split(end, 1)[0]


@pytest.mark.usefixtures("awkward_instant")
def test_the_programme_page_lists_only_runs_to_come_and_says_when_joining_has_closed(
    app, login, clinician, dated
):
    page = login(app.test_client(), clinician).get("/programme").text
    assert "First Day Hall" not in page  # it started today: not an upcoming date
    late = _line(page, "Late Hall", "</li>")
    assert "enrollment closed" in late and "enroll by" not in late
    shut = _line(page, "Shut Town", "</li>")
    assert "applications closed" in shut and "apply by" not in shut
    assert "apply by" in _line(page, "Open Town", "</li>")


@pytest.mark.usefixtures("awkward_instant")
def test_the_offerings_list_offers_no_apply_link_once_applications_have_closed(
    app, login, clinician, dated
):
    page = login(app.test_client(), clinician).get("/offerings/").text
    coming = page.split("Coming up", 1)[1]
    assert "First Day Hall" not in coming
    assert "enrollment closed" in _line(coming, "Late Hall", "</tr>")
    shut = _line(coming, "Shut Town", "</tr>")
    assert "applications closed" in shut
    assert f"/retreats/sessions/{dated['retreat closed'].id}/apply" not in page
    assert f"/retreats/sessions/{dated['retreat open'].id}/apply" in page


def test_the_retreats_page_gives_no_day_to_apply_by_once_it_has_passed(
    app, login, clinician, dated
):
    page = login(app.test_client(), clinician).get("/retreats/").text
    level1 = page.split('data-retreat="RETREAT-L1"', 1)[1].split("</section>", 1)[0]
    shut = _line(level1, "Shut Town", "</li>")
    assert "applications closed" in shut and "apply by" not in shut
    assert "apply by" in _line(level1, "Open Town", "</li>")

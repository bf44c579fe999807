"""The offering pages: enrolling, the join link only for places held, calendars, and the
staff people page (search, pasted e-mails, the shop's CSV) in a constant number of queries."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

from clock_support import PACIFIC, pinned, programme_today
from icalendar import Calendar
from offerings_support import add_offering, cancel
from retreats_support import complete
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.offerings import closing, enrolment
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus


def _client(app, login, user):
    """A test client signed in as the user."""
    return login(app.test_client(), user)


def _ready(make_user, session, **fields):
    """A clinician with Module 1 done."""
    person = make_user(Role.CLINICIAN, **fields)
    complete(session, person.id, "M1")
    return person


def test_a_clinician_enrols_from_the_page_and_only_then_sees_the_join_link(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=1)
    person, later = _ready(make_user, session), _ready(make_user, session)
    browser = _client(app, login, person)
    page = browser.get(f"/offerings/{offering.id}").text
    assert "video.example" not in page and ">Enroll<" in page
    response = browser.post(f"/offerings/{offering.id}/enrol")
    assert response.status_code == 302
    page = browser.get(f"/offerings/{offering.id}").text
    assert "https://video.example/j/123" in page and "Withdraw" in page
    # The next person waits, and the waitlist does not see the link either.
    other = _client(app, login, later)
    assert "Join the waitlist" in other.get(f"/offerings/{offering.id}").text
    other.post(f"/offerings/{offering.id}/enrol")
    waiting = other.get(f"/offerings/{offering.id}").text
    assert "position 1 on the waitlist" in waiting and "video.example" not in waiting
    assert "video.example" not in other.get("/offerings/").text


def test_an_offering_whose_days_are_over_shows_no_join_link_and_no_last_day_to_enrol(
    app, login, session, make_user, catalog
):
    """Ended, then closed: neither a join link nor "Enrol by" to act on (they were shown)."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, starts_in=3, days=1)
    person = _ready(make_user, session)
    enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.commit()
    browser = _client(app, login, person)
    before = browser.get(f"/offerings/{offering.id}").text
    assert "Enroll by" in before and "video.example" in before and "places left" in before
    day_after = datetime.combine(offering.ends_on + timedelta(days=1), time(10), tzinfo=PACIFIC)
    with pinned(day_after):
        ended = browser.get(f"/offerings/{offering.id}").text
        closing.close_offering(session, offering.id, actor=admin)
        session.commit()
        closed = browser.get(f"/offerings/{offering.id}").text
    for page in (ended, closed):
        assert "Enroll by" not in page and "video.example" not in page
        assert "places left" not in page  # places are no longer the news
    assert "Closed" in closed


def test_a_refused_clinician_is_told_why_and_pointed_at_outside_credit(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id)
    newcomer = _client(app, login, make_user(Role.CLINICIAN))
    page = newcomer.get(f"/offerings/{offering.id}").text
    assert "You cannot enroll yet" in page and "Module 1" in page
    assert "/equivalency/" in page
    response = newcomer.post(f"/offerings/{offering.id}/enrol", follow_redirects=True)
    assert "Module 1" in response.text
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_calendars_carry_every_day_and_the_join_link_only_in_the_holders_own_file(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, days=2)
    person = _ready(make_user, session)
    enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.commit()
    browser = _client(app, login, person)
    public = Calendar.from_ical(browser.get(f"/offerings/{offering.id}.ics").data)
    events = public.walk("VEVENT")
    assert len(events) == 2
    assert events[0].decoded("dtstart").hour == 9  # hours in the programme's time zone
    assert all("video.example" not in str(e.get("location")) for e in events)
    mine = Calendar.from_ical(browser.get("/offerings/mine.ics").data)
    assert {str(e.get("location")) for e in mine.walk("VEVENT")} == {"https://video.example/j/123"}


def test_staff_people_page_enrols_pasted_addresses_or_lists_the_unknown_and_changes_nothing(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id)
    person = _ready(make_user, session)
    staff = _client(app, login, make_user(Role.INSTRUCTOR))
    refused = staff.post(
        f"/offerings/{offering.id}/people",
        data={"emails": f"{person.email}\nghost@example.test"},
    )
    assert refused.status_code == 422
    assert "ghost@example.test" in refused.text and "Nobody was enrolled" in refused.text
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0
    done = staff.post(f"/offerings/{offering.id}/people", data={"emails": person.email})
    assert done.status_code == 302
    assert session.scalar(select(Enrolment.status)) == EnrolmentStatus.ENROLLED
    found = staff.get(f"/offerings/{offering.id}/people?q={person.name[:8]}").text
    assert person.email in found


def test_on_the_first_day_staff_still_enrol_a_walk_in_from_the_people_page(
    app, login, session, make_user, catalog
):
    """The enrol forms stay until the offering is closed, saying why; the walk-in is enrolled."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, starts_in=2)
    walk_in = _ready(make_user, session)
    staff = _client(app, login, make_user(Role.INSTRUCTOR))
    first_morning = datetime.combine(offering.starts_on, time(10), tzinfo=PACIFIC)
    with pinned(first_morning):
        page = staff.get(f"/offerings/{offering.id}/people").text
        assert "Enroll people" in page and "This offering has begun" in page
        done = staff.post(f"/offerings/{offering.id}/people", data={"emails": walk_in.email})
    assert done.status_code == 302
    assert session.scalar(select(Enrolment.status)) == EnrolmentStatus.ENROLLED


def test_the_shop_import_form_refuses_a_bad_file_by_line_and_imports_a_good_one(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id)
    person = _ready(make_user, session)
    staff = _client(app, login, make_user(Role.INSTRUCTOR))
    bad = b"email,enrolled_on\n" + person.email.encode() + b",yesterday\n"
    response = staff.post(
        f"/offerings/{offering.id}/people/import",
        data={"file": (io.BytesIO(bad), "shop.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "line 2" in response.text
    good = b"\xef\xbb\xbfEmail,Enrolled_on\n" + person.email.encode() + b",2026-11-02\n"
    response = staff.post(
        f"/offerings/{offering.id}/people/import",
        data={"file": (io.BytesIO(good), "shop.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert session.scalar(select(Enrolment.source)).value == "import"


def test_the_people_page_of_sixty_reads_in_as_few_queries_as_the_page_of_one(
    app, login, session, make_user, catalog, engine, count_queries
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=60)
    staff = _client(app, login, make_user(Role.INSTRUCTOR))

    def queries() -> int:
        staff.get(f"/offerings/{offering.id}/people")  # mail queued by the enrolments goes out
        with count_queries() as statements:
            assert staff.get(f"/offerings/{offering.id}/people").status_code == 200
        return len(statements)

    first = _ready(make_user, session)
    enrolment.enrol_user(session, offering.id, first.id, actor_id=admin.id)
    session.commit()
    one = queries()
    emails = "\n".join(_ready(make_user, session).email for _ in range(59))
    assert enrolment.enrol_emails(session, offering.id, emails, actor_id=admin.id).ok
    session.commit()
    assert queries() == one


def test_an_admin_schedules_a_module_offering_with_hours_and_it_lists_for_clinicians(
    app, login, session, make_user, catalog
):
    admin = _client(app, login, make_user(Role.ADMIN))
    from datetime import timedelta

    start = programme_today() + timedelta(days=50)
    form = {
        "item_code": "M3",
        "format": "live_online",
        "days": f"{start} 09:00-17:00 7\n{start + timedelta(days=1)} 09:00-16:00 6",
        "join_url": "https://video.example/j/m3",
        "capacity": "40",
    }
    assert admin.post("/offerings/new", data={**form, "days": f"{start}"}).status_code == 422
    response = admin.post("/offerings/new", data=form)
    assert response.status_code == 302
    listing = _client(app, login, make_user(Role.CLINICIAN)).get("/offerings/").text
    assert "Module 3" in listing and "40 left" in listing


def test_the_dashboard_shows_a_module_enrolment_from_the_standing_row(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=1)
    first, second = _ready(make_user, session), _ready(make_user, session)
    for person in (first, second):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
        session.commit()
    row = _client(app, login, first).get("/").text
    assert 'id="item-M2"' in row
    m2 = row.split('id="item-M2"', 1)[1].split("</tr>", 1)[0]
    assert ">Enrolled<" in m2
    waiting = _client(app, login, second).get("/").text.split('id="item-M2"', 1)[1]
    assert ">Waitlisted<" in waiting.split("</tr>", 1)[0]
    m3 = row.split('id="item-M3"', 1)[1].split("</tr>", 1)[0]
    assert "Find a date" in m3


def _m2_row(app, login, person) -> str:
    """The person's dashboard row of Module 2."""
    page = _client(app, login, person).get("/").text
    return page.split('id="item-M2"', 1)[1].split("</tr>", 1)[0]


def test_a_place_in_a_module_offering_that_closed_or_was_cancelled_is_no_badge_on_the_dashboard(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    ran = add_offering(session, admin.id, starts_in=10, capacity=1)
    called_off = add_offering(session, admin.id, starts_in=40)
    holder, waiting, enrolled = (_ready(make_user, session) for _ in range(3))
    for person, offering in ((holder, ran), (waiting, ran), (enrolled, called_off)):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
        session.commit()
    assert ">Waitlisted<" in _m2_row(app, login, waiting)
    assert ">Enrolled<" in _m2_row(app, login, enrolled)
    # The offering ran and was closed (only the place held is settled); the other is cancelled.
    closing.close_offering(session, ran.id, actor=admin, today=ran.ends_on)
    session.commit()
    cancel(session, called_off, admin.id)
    # "Your enrolments", where the badge would link, no longer lists the waitlist place either.
    for person in (waiting, enrolled):
        row = _m2_row(app, login, person)
        assert ">Waitlisted<" not in row and ">Enrolled<" not in row
        assert "Find a date" in row


def test_places_past_a_database_integer_are_a_field_error_and_nothing_is_scheduled(
    app, login, session, make_user, catalog
):
    from datetime import timedelta

    from lms.offerings.models import Offering

    admin = _client(app, login, make_user(Role.ADMIN))
    start = programme_today() + timedelta(days=50)
    form = {
        "item_code": "M3",
        "format": "live_online",
        "days": f"{start} 09:00-17:00 7",
        "join_url": "https://video.example/j/m3",
    }
    before = session.scalar(select(func.count()).select_from(Offering))
    for places in ("9" * 400, "9999999999", str(2**31), "1001", "-1", "\uff15"):
        response = admin.post("/offerings/new", data={**form, "capacity": places})
        assert response.status_code == 422, places
        assert "Enter a whole number from 0 to 1,000." in response.text
    assert session.scalar(select(func.count()).select_from(Offering)) == before
    assert admin.post("/offerings/new", data={**form, "capacity": "1000"}).status_code == 302


def test_the_staff_list_shows_upcoming_to_close_past_or_all_searched_by_item_a_page_at_a_time(
    app, login, session, make_user, catalog
):
    """Upcoming by default; to close, past and all on request; searched by item; paged."""
    from lms.offerings.listing import Shown, find_offerings

    admin = make_user(Role.ADMIN)
    over = add_offering(session, admin.id, "M2", starts_in=2, days=1)
    soon = add_offering(session, admin.id, "M3", starts_in=40, days=1)
    later = add_offering(session, admin.id, "M4", starts_in=60, days=1)
    session.commit()
    staff = _client(app, login, make_user(Role.INSTRUCTOR))

    ours = {over.id, soon.id, later.id}  # the catalogue brings retreat sessions of its own

    def ids(query: str) -> list[int]:
        page = staff.get(f"/offerings/manage{query}")
        assert page.status_code == 200
        shown = [int(n) for n in re.findall(r'href="/offerings/(\d+)"', page.text)]
        return [n for n in shown if n in ours]

    with pinned(datetime.combine(over.ends_on + timedelta(days=3), time(10), tzinfo=PACIFIC)):
        assert ids("") == [soon.id, later.id]
        assert ids("?shown=to-close") == [over.id]
        assert ids("?shown=past") == [over.id]
        assert ids("?shown=all") == [later.id, soon.id, over.id]
        assert ids("?shown=all&q=m3") == [soon.id]
        assert ids("?shown=all&q=%25") == []  # a wildcard is a character, not "anything"
        assert "No offering matches these choices." in staff.get("/offerings/manage?q=%25").text
        assert staff.get("/offerings/manage?shown=everything").status_code == 422
        assert staff.get("/offerings/manage?page=0").status_code == 422
        day = programme_today()
        every = [s.offering.id for s in find_offerings(session, shown=Shown.ALL, today=day).items]
        second = find_offerings(session, shown=Shown.ALL, page=2, today=day, per_page=2)
        assert [s.offering.id for s in second.items] == every[2:4]
        assert second.pages == -(-len(every) // 2) and second.total == len(every)


def test_each_offering_row_opens_its_pages_by_links_on_one_line_not_stacked_buttons(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, "M3", starts_in=9)
    html = login(app.test_client(), admin).get("/offerings/manage?q=m3").text
    row = html[html.index(f'href="/offerings/{offering.id}"') :]
    row = row[: row.index("</tr>")]
    links = re.findall(r'<li><a href="([^"]+)">(\w+)<span class="visually-hidden">', row)
    assert links == [
        (f"/offerings/{offering.id}/people", "People"),
        (f"/offerings/{offering.id}/attendance", "Attendance"),
        (f"/offerings/{offering.id}/edit", "Edit"),
    ]
    assert 'class="row-links"' in row and "button" not in row


def test_the_people_page_numbers_the_waitlist_as_it_is_filled_not_by_name(
    app, login, session, make_user, catalog
):
    """Staff read the number the waiting person reads on their own page: the waitlist is a
    queue in the order people applied, even where the rest of the roster goes by name."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=1)
    holder, early, late = (
        _ready(make_user, session, name=name) for name in ("Mia Holder", "Zoe Early", "Adam Late")
    )
    for person in (holder, early, late):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
        session.commit()
    roster = _client(app, login, make_user(Role.INSTRUCTOR)).get(f"/offerings/{offering.id}/people")
    rows = {
        name: row
        for row in roster.text.split("<tr")
        for name in ("Mia Holder", "Zoe Early", "Adam Late")
        if name in row
    }
    assert "#1" in rows["Zoe Early"] and "#2" in rows["Adam Late"]
    assert "#" not in rows["Mia Holder"].split('data-label="Status"')[1].split("</td>")[0]
    assert roster.text.index("Zoe Early") < roster.text.index("Adam Late")
    own = _client(app, login, early).get(f"/offerings/{offering.id}").text
    assert "position 1 on the waitlist" in own


def test_a_place_in_a_cancelled_offering_reads_cancelled_with_no_waitlist_position(
    app, login, session, make_user, catalog
):
    """Kept on record, but nobody's place: "Your enrolments" says the offering is cancelled
    (as the dashboard shows no place) and neither page gives a position in its waitlist."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=1)
    holder, waiting = _ready(make_user, session), _ready(make_user, session)
    for person in (holder, waiting):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
        session.commit()
    browser = _client(app, login, waiting)
    assert "(position 1)" in browser.get("/offerings/").text
    offering.status = OfferingStatus.CANCELLED
    session.commit()
    mine = re.split(r"Your enrol+ments", browser.get("/offerings/").text)[1].split("<h2")[0]
    assert re.search(r"Cancel+ed</span>", mine) and "position" not in mine
    assert "position 1 on the waitlist" not in browser.get(f"/offerings/{offering.id}").text

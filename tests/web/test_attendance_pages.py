"""The attendance pages: the grid (with and without its script), participant report uploads,
matching by hand, closing, the reports, and the grid of sixty in a constant number of queries."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from attendance_support import enrol, held_offering, report
from evaluations_support import evaluate
from sqlalchemy import func, select

from lms import dates
from lms.auth.models import Role
from lms.offerings import sheet
from lms.offerings.models import Attendance, EnrolmentStatus, ParticipantRow
from lms.offerings.sheet import CellInput
from lms.progress.models import Completion

JSON = {"Accept": "application/json"}


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


@pytest.fixture
def facilitator(make_user):
    """The instructor who runs the offering."""
    return make_user(Role.INSTRUCTOR, name="Fay Facilitator")


@pytest.fixture
def held(session, catalog, admin, facilitator, make_user):
    """A two-day Module 1 offering that ended yesterday, two clinicians enrolled."""
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen")]
    return offering, people, enrol(session, offering, people, admin.id)


def _client(app, login, user):
    """A test client signed in as the user."""
    return login(app.test_client(), user)


def _rows(session):
    """{(enrolment id, day id): (present, minutes)}."""
    return {
        (a.enrolment_id, a.offering_day_id): (a.present, a.minutes)
        for a in session.scalars(select(Attendance))
    }


def test_the_facilitator_gets_the_editable_grid_and_other_staff_a_read_only_one(
    app, login, session, held, facilitator, make_user
):
    offering, _, (ann, _) = held
    d1 = offering.days[0]
    page = _client(app, login, facilitator).get(f"/offerings/{offering.id}/attendance")
    assert page.status_code == 200
    assert f'name="present-{ann.id}-{d1.id}"' in page.text
    assert "attendance.js" in page.text and "Close the offering" in page.text
    # labels name the day as every page does ("4 Dec", never "04 Dec")
    assert f"Ann Lee, {dates.day(d1.held_on, year=False)}: attendance" in page.text
    looker = _client(app, login, make_user(Role.INSTRUCTOR)).get(
        f"/offerings/{offering.id}/attendance"
    )
    assert looker.status_code == 200 and "Ann Lee" in looker.text
    assert "present-" not in looker.text and "attendance.js" not in looker.text
    assert "You can look" in looker.text
    clinician = _client(app, login, make_user(Role.CLINICIAN))
    assert clinician.get(f"/offerings/{offering.id}/attendance").status_code == 403


def test_the_grid_saves_as_one_form_without_javascript(app, login, session, held, facilitator):
    offering, _, (ann, bo) = held
    d1, d2 = offering.days
    browser = _client(app, login, facilitator)
    response = browser.post(
        f"/offerings/{offering.id}/attendance",
        data={
            f"present-{ann.id}-{d1.id}": "present",
            f"minutes-{ann.id}-{d1.id}": "",
            f"was-{ann.id}-{d1.id}": ":",
            f"present-{bo.id}-{d1.id}": "",
            f"minutes-{bo.id}-{d1.id}": "390",
            f"was-{bo.id}-{d1.id}": ":",
            f"present-{bo.id}-{d2.id}": "",  # untouched
            f"minutes-{bo.id}-{d2.id}": "",
            f"was-{bo.id}-{d2.id}": ":",
        },
    )
    assert response.status_code == 302
    assert _rows(session) == {(ann.id, d1.id): (True, None), (bo.id, d1.id): (True, 390)}
    page = browser.get(response.location).text
    assert "2 saved." in page


def test_a_cell_saves_alone_and_answers_json_for_the_script(app, login, session, held, facilitator):
    offering, _, (ann, _) = held
    d1 = offering.days[0]
    key = f"{ann.id}-{d1.id}"
    response = _client(app, login, facilitator).post(
        f"/offerings/{offering.id}/attendance",
        data={f"present-{key}": "absent", f"minutes-{key}": "12", f"was-{key}": ":"},
        headers=JSON,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["cells"] == [
        {
            "key": key,
            "token": "0:12",
            "choice": "absent",
            "minutes": 12,
            "source": "Entered by hand",
        }
    ]
    assert body["verdicts"][str(ann.id)].startswith("Does not meet the policy")
    refused = _client(app, login, facilitator).post(
        f"/offerings/{offering.id}/attendance",
        data={f"present-{key}": "", f"minutes-{key}": "99999", f"was-{key}": "0:12"},
        headers=JSON,
    )
    assert refused.status_code == 422 and "minutes" in refused.get_json()["error"]
    assert _rows(session) == {(ann.id, d1.id): (False, 12)}


def test_a_refused_save_shows_the_grid_again_as_typed_and_saves_nothing(
    app, login, session, held, facilitator
):
    offering, _, (ann, bo) = held
    d1 = offering.days[0]
    response = _client(app, login, facilitator).post(
        f"/offerings/{offering.id}/attendance",
        data={
            f"present-{ann.id}-{d1.id}": "present",
            f"minutes-{ann.id}-{d1.id}": "400",
            f"was-{ann.id}-{d1.id}": ":",
            f"present-{bo.id}-{d1.id}": "",
            f"minutes-{bo.id}-{d1.id}": "lots",
            f"was-{bo.id}-{d1.id}": ":",
        },
    )
    assert response.status_code == 422 and "Nothing was saved" in response.text
    assert 'value="400"' in response.text and 'value="lots"' in response.text
    assert _rows(session) == {}


def test_another_instructor_cannot_save_import_match_or_close(app, login, session, held, make_user):
    offering, people, (ann, _) = held
    d1 = offering.days[0]
    other = _client(app, login, make_user(Role.INSTRUCTOR))
    key = f"{ann.id}-{d1.id}"
    base = f"/offerings/{offering.id}"
    assert (
        other.post(
            f"{base}/attendance", data={f"present-{key}": "present", f"was-{key}": ":"}
        ).status_code
        == 403
    )
    upload = {
        "file": (io.BytesIO(report(("A", people[0].email, 400), on=d1.held_on).encode()), "r.csv")
    }
    assert other.post(f"{base}/attendance/{d1.id}/import", data=upload).status_code == 403
    assert other.post(f"{base}/close").status_code == 403
    assert _rows(session) == {}


def test_uploading_a_report_fills_the_day_and_lists_guests_to_match_by_hand(
    app, login, session, held, facilitator
):
    offering, people, (ann, bo) = held
    d1 = offering.days[0]
    browser = _client(app, login, facilitator)
    text = report(("Ann Lee", people[0].email, 400), ("Phone 555", "", 395), on=d1.held_on)
    response = browser.post(
        f"/offerings/{offering.id}/attendance/{d1.id}/import",
        data={"file": (io.BytesIO(text.encode("utf-8-sig")), "participants.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = browser.get(f"/offerings/{offering.id}/attendance").text
    assert "Report for" in page and "1 rows to match by hand" in page
    assert "Phone 555" in page and "none (guest)" in page
    guest = session.scalar(select(ParticipantRow).where(ParticipantRow.email == ""))
    matched = browser.post(
        f"/offerings/{offering.id}/attendance/rows/{guest.id}/match",
        data={"enrolment_id": str(bo.id)},
    )
    assert matched.status_code == 302
    assert _rows(session) == {(ann.id, d1.id): (True, 400), (bo.id, d1.id): (True, 395)}


def test_a_bad_report_upload_says_why_and_changes_nothing(app, login, session, held, facilitator):
    offering, _, _ = held
    d1 = offering.days[0]
    browser = _client(app, login, facilitator)
    bad = browser.post(
        f"/offerings/{offering.id}/attendance/{d1.id}/import",
        data={"file": (io.BytesIO(b"Email,Minutes\nx@y.z,4\n"), "r.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "no header row" in bad.text
    binary = browser.post(
        f"/offerings/{offering.id}/attendance/{d1.id}/import",
        data={"file": (io.BytesIO(b"\xff\xfe\x00bad"), "r.csv")},
        content_type="multipart/form-data",
    )
    assert binary.status_code == 422 and "not UTF-8" in binary.text
    missing = browser.post(f"/offerings/{offering.id}/attendance/{d1.id}/import", data={})
    assert missing.status_code == 422
    assert session.scalar(select(func.count()).select_from(ParticipantRow)) == 0
    assert _rows(session) == {}


def test_closing_from_the_page_records_completions_and_lists_who_missed_what(
    app, login, session, held, facilitator
):
    offering, people, (ann, bo) = held
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
    browser = _client(app, login, facilitator)
    preview = browser.get(f"/offerings/{offering.id}/close")
    assert preview.status_code == 200
    assert "Bo Chen: missed " + f"{dates.day(d2.held_on)}: not recorded" in preview.text
    assert session.scalar(select(Completion.user_id)) is None  # the preview records nothing
    plan = re.search(r'name="plan" type="hidden" value="([0-9a-f]+)"', preview.text)[1]
    response = browser.post(
        f"/offerings/{offering.id}/close", data={"plan": plan, "confirm": "yes"}
    )
    assert response.status_code == 302
    page = browser.get(response.location).text
    assert "Closed: 1 attended, 1 absent." in page
    assert "Bo Chen: missed " + f"{dates.day(d2.held_on)}: not recorded" in page
    assert "present-" not in page  # a closed offering's attendance no longer changes
    assert session.scalar(select(Completion.user_id)) == people[0].id
    again = browser.post(f"/offerings/{offering.id}/close", data={"plan": plan, "confirm": "yes"})
    assert again.status_code == 302
    assert "already closed" in browser.get(again.location).text


def test_the_roster_csv_is_formula_safe_and_carries_licences_days_minutes_and_hours(
    app, login, session, catalog, admin, facilitator, make_user
):
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    evil = make_user(
        Role.CLINICIAN,
        name="=HYPERLINK(1)",
        credentials="+LCSW",
        licence_number="@123",
        email="-evil@example.test",
    )
    (mine,) = enrol(session, offering, [evil], admin.id)
    d1, d2 = offering.days
    sheet.save_cells(
        session,
        offering.id,
        [
            CellInput(mine.id, d1.id, "present", 410, ":"),
            CellInput(mine.id, d2.id, "present", 400, ":"),
        ],
        actor=facilitator,
    )
    session.commit()
    from lms.offerings.closing import close_offering

    close_offering(session, offering.id, actor=facilitator)
    session.commit()
    response = _client(app, login, make_user(Role.INSTRUCTOR)).get(
        f"/offerings/{offering.id}/attendance.csv"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(response.text)))
    assert header[:7] == [
        "Name",
        "Credentials",
        "License type",
        "License number",
        "License state",
        "E-mail",
        "Status",
    ]
    assert row[:7] == [
        "'=HYPERLINK(1)",
        "'+LCSW",
        "LCSW",
        "'@123",
        "CA",
        "'-evil@example.test",
        "Attended",
    ]
    assert row[7:] == [
        "410 (present)",
        "400 (present)",
        "2 of 2",
        f"{d1.held_on}; {d2.held_on}",
        "810",
        "8",
        "no",  # the CE evaluation is still due
    ]
    assert header[-1] == "Evaluation done"
    evaluate(session, evil.id, offering.id)
    again = _client(app, login, make_user(Role.INSTRUCTOR)).get(
        f"/offerings/{offering.id}/attendance.csv"
    )
    assert list(csv.reader(io.StringIO(again.text)))[1][-1] == "yes"


def test_the_attendance_record_is_a_pdf_naming_the_people_and_the_hours(
    app, login, session, held, facilitator
):
    offering, _, (ann, _) = held
    sheet.save_cells(
        session,
        offering.id,
        [CellInput(ann.id, offering.days[0].id, "present", 400, ":")],
        actor=facilitator,
    )
    session.commit()
    response = _client(app, login, facilitator).get(f"/offerings/{offering.id}/attendance.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    if os.environ.get("LMS_SCREENSHOTS"):
        (Path(os.environ["LMS_SCREENSHOTS"]) / "record.pdf").write_bytes(response.data)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
        ).stdout.decode()
        assert "ATTENDANCE RECORD" in text and "Ann Lee" in text and "Bo Chen" in text
        assert "Present · 400 min" in text and "Fay Facilitator" in text


def test_ce_awards_of_a_period_list_every_award_with_what_boards_ask_for(
    app, login, session, held, facilitator, make_user
):
    from retreats_support import complete

    offering, people, (ann, _) = held
    for day in offering.days:
        sheet.save_cells(
            session,
            offering.id,
            [CellInput(ann.id, day.id, "present", None, ":")],
            actor=facilitator,
        )
    session.commit()
    from lms.offerings.closing import close_offering

    close_offering(session, offering.id, actor=facilitator)
    complete(session, people[1].id, "HTH", on=date(2020, 5, 1))  # outside the period
    session.commit()
    evaluate(session, ann.user_id, offering.id)  # the CE certificate follows the evaluation
    staff = _client(app, login, make_user(Role.INSTRUCTOR))
    assert staff.get("/offerings/reports/ce-awards").status_code == 200
    start, end = offering.starts_on - timedelta(days=30), offering.ends_on
    response = staff.get(f"/offerings/reports/ce-awards.csv?from_on={start}&to_on={end}")
    assert response.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert header[:6] == [
        "Name",
        "E-mail",
        "Profession / credentials",
        "License type",
        "License number",
        "License state",
    ]
    assert len(rows) == 1
    assert rows[0][0] == "Ann Lee" and rows[0][6:8][0] == "M1"
    assert rows[0][8:] == [
        "Live online",
        f"{offering.starts_on} to {offering.ends_on}",
        str(offering.ends_on),
        "8",
        "CE contact hours",
        "Verified attendance",
        rows[0][14],
    ]
    assert rows[0][14].startswith("KAP-")
    # The clinician's record says how the completion came to be in the export's words.
    history = staff.get(f"/clinicians/{ann.user_id}").text
    assert "Verified attendance" in history and "Retreat attendance" not in history
    backwards = staff.get(f"/offerings/reports/ce-awards.csv?from_on={end}&to_on={start}")
    assert backwards.status_code == 302
    assert "before its first day" in staff.get(backwards.location).text
    clinician = _client(app, login, people[0])
    assert (
        clinician.get(f"/offerings/reports/ce-awards.csv?from_on={start}&to_on={end}").status_code
        == 403
    )


def test_the_grid_of_sixty_runs_as_many_queries_as_the_grid_of_three(
    app, login, session, catalog, admin, facilitator, make_user, engine, count_queries
):
    def grid_with(count: int):
        offering = held_offering(
            session, admin.id, "M1" if count == 3 else "HTH", facilitators=[facilitator.id]
        )
        people = [make_user(Role.CLINICIAN) for _ in range(count)]
        made = enrol(session, offering, people, admin.id)
        d1, d2 = offering.days
        cells = [CellInput(e.id, d1.id, "present", 400, ":") for e in made]
        cells += [CellInput(e.id, d2.id, "absent", None, ":") for e in made[: count // 2]]
        sheet.save_cells(session, offering.id, cells, actor=facilitator)
        session.commit()
        guests = [(f"Guest {n}", "", 30) for n in range(count)]
        from lms.offerings import participants

        participants.import_report(
            session, offering.id, d2.id, report(*guests, on=d2.held_on), actor=facilitator
        )
        session.commit()
        return offering

    small, large = grid_with(3), grid_with(60)
    browser = _client(app, login, facilitator)

    def queries(offering) -> int:
        browser.get(f"/offerings/{offering.id}/attendance")  # warm-up
        with count_queries() as statements:
            page = browser.get(f"/offerings/{offering.id}/attendance")
        assert page.status_code == 200
        return len([s for s in statements if not s.startswith(("BEGIN", "SELECT set_config"))])

    few, many = queries(small), queries(large)
    assert many == few, (few, many)
    assert few <= 12
    assert session.scalar(select(func.count()).select_from(Attendance)) >= 60 + 30 + 3


def test_closed_offerings_show_each_persons_outcome_and_hours(
    app, login, session, held, facilitator
):
    offering, _, (ann, bo) = held
    for day in offering.days:
        sheet.save_cells(
            session,
            offering.id,
            [CellInput(ann.id, day.id, "present", None, ":")],
            actor=facilitator,
        )
    session.commit()
    from lms.offerings.closing import close_offering

    close_offering(session, offering.id, actor=facilitator)
    session.commit()
    page = _client(app, login, facilitator).get(f"/offerings/{offering.id}/attendance").text
    assert "Attended</span> 8 CE hours" in page
    assert EnrolmentStatus.ABSENT.label in page

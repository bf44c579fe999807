"""A person's attendance in their data export, and what erasing them does to it."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest
from attendance_support import enrol, held_offering, report
from sqlalchemy import select

from lms.auth.models import Role
from lms.auth.privacy import carry_out_deletion, export_personal_data, request_deletion
from lms.offerings import participants, sheet
from lms.offerings.models import Attendance, ParticipantRow
from lms.offerings.sheet import CellInput
from lms.storage import stores


@pytest.fixture
def taken(session, catalog, make_user):
    """A held offering: one clinician present on day 1 (typed) and in day 2's report."""
    admin = make_user(Role.ADMIN)
    offering = held_offering(session, admin.id)
    person = make_user(Role.CLINICIAN, name="Nora Quist")
    (mine,) = enrol(session, offering, [person], admin.id)
    d1, d2 = offering.days
    sheet.save_cells(
        session, offering.id, [CellInput(mine.id, d1.id, "present", 410, ":")], actor=admin
    )
    text = report(("Nora Q", person.email, 380), ("Nora's phone", "", 20), on=d2.held_on)
    participants.import_report(session, offering.id, d2.id, text, actor=admin)
    phone = session.scalar(select(ParticipantRow).where(ParticipantRow.email == ""))
    participants.match_row(session, offering.id, phone.id, mine.id, actor=admin)
    session.commit()
    return admin, person, offering


def test_the_export_lists_each_day_and_the_report_rows_that_are_the_persons(session, taken):
    _, person, offering = taken
    archive = zipfile.ZipFile(BytesIO(export_personal_data(session, person)))
    data = json.loads(archive.read("data.json"))["offerings"]
    assert [(d["day"], d["present"], d["minutes"], d["source"]) for d in data["days"]] == [
        (offering.days[0].held_on.isoformat(), True, 410, "manual"),
        (offering.days[1].held_on.isoformat(), True, 400, "report"),
    ]
    assert sorted(r["name"] for r in data["participant_report_rows"]) == ["Nora Q", "Nora's phone"]


def test_erasing_a_person_keeps_their_attendance_and_scrubs_the_report_rows(session, taken):
    admin, person, _ = taken
    request_deletion(session, person)
    carry_out_deletion(session, person.id, actor=admin, files=stores())
    session.commit()
    assert len(session.scalars(select(Attendance)).all()) == 2
    names = set(session.execute(select(ParticipantRow.name, ParticipantRow.email)).all())
    assert names == {(f"Deleted user #{person.id}", "")}

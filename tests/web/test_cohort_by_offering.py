"""Cohort marking by offering: pick "everyone enrolled" in one of the module's offerings, see
where each person stands with the module, and record their completions on its last day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from certificates_support import record
from clock_support import pinned, programme_today
from offerings_support import add_offering
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.offerings import enrolment
from lms.offerings.models import OfferingStatus
from lms.progress.models import Completion


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def live(session, user_id: int, code: str = "M2") -> list[Completion]:
    """The person's live completions of the item."""
    session.expire_all()
    return [
        c
        for c in session.scalars(
            select(Completion).where(Completion.user_id == user_id, Completion.revoked_at.is_(None))
        )
        if c.item.code == code
    ]


@pytest.fixture
def admin(make_user):
    """An administrator (who schedules offerings)."""
    return make_user(Role.ADMIN)


@pytest.fixture
def instructor(make_user):
    """An instructor (who marks cohorts)."""
    return make_user(Role.INSTRUCTOR)


@pytest.fixture
def cohort(session, catalog, admin, make_user):
    """A two-day Module 2 offering 3 days ahead with three people holding a place (one of
    whom already completed Module 2 elsewhere), one withdrawn, and an outsider."""
    offering = add_offering(session, admin.id, "M2", starts_in=3, days=2)
    people = {
        name: make_user(Role.CLINICIAN, name=name)
        for name in ("Ada Enrolled", "Ben Enrolled", "Cy Completed", "Wes Withdrawn", "Out Sider")
    }
    for person in people.values():  # Module 2 asks for Module 1 first
        record(session, person.id, "M1", on=programme_today() - timedelta(days=60))
    session.commit()
    for name in ("Ada Enrolled", "Ben Enrolled", "Cy Completed", "Wes Withdrawn"):
        made = enrolment.enrol_user(session, offering.id, people[name].id, actor_id=admin.id)
        session.commit()
        if name == "Wes Withdrawn":
            enrolment.remove(session, made.id, actor_id=admin.id)
            session.commit()
    record(session, people["Cy Completed"].id, "M2", on=programme_today() - timedelta(days=40))
    session.commit()
    return offering, people


def _after_it(offering):
    """The clock pinned at noon Pacific two days after the offering's last day."""
    day = offering.ends_on + timedelta(days=2)
    return pinned(datetime.combine(day, time(20), tzinfo=UTC))


def test_everyone_enrolled_is_listed_with_their_standing_and_ticked_but_who_has_it(
    app, login, session, instructor, cohort
):
    offering, people = cohort
    key = f"offering-{offering.id}"
    with _after_it(offering):
        client = login(app.test_client(), instructor)
        roster = client.get(f"/offerings/{offering.id}/people").get_data(as_text=True)
        page = client.get(f"/mark?item=M2&group={key}")
        html = page.get_data(as_text=True)
    text = text_of(page)

    assert f'href="/mark?item=M2&amp;group={key}">Mark this cohort</a>' in roster
    assert page.status_code == 200
    assert "Everyone enrolled:" in text and "2 enrolled" not in text  # three hold a place
    assert "3 enrolled" in text
    for name in ("Ada Enrolled", "Ben Enrolled", "Cy Completed"):
        assert name in text
    assert "Wes Withdrawn" not in text and "Out Sider" not in text
    ticked = set(re.findall(r'name="user_id" value="(\d+)" checked', html))
    assert ticked == {str(people["Ada Enrolled"].id), str(people["Ben Enrolled"].id)}
    completed_on = (programme_today() - timedelta(days=40)).strftime("%b %-d, %Y")  # en-US
    assert f"Completed on {completed_on}" in text and "already has it" in text
    assert "Enrolled" in text  # the others' place with the module, as their dashboard says it
    # The completion date proposed is the offering's last day.
    assert f'value="{offering.ends_on.isoformat()}"' in html


def test_recording_the_group_marks_the_ticked_and_skips_who_has_it(
    app, login, session, instructor, cohort
):
    offering, people = cohort
    with _after_it(offering):
        client = login(app.test_client(), instructor)
        client.get("/mark?item=M2")
        response = client.post(
            f"/mark?item=M2&group=offering-{offering.id}",
            data={
                "item_code": "M2",
                "completed_on": offering.ends_on.isoformat(),
                "user_id": [str(p.id) for p in people.values() if p.name != "Out Sider"],
            },
        )
        assert response.status_code == 302
        result = text_of(client.get(response.location))

    assert "Recorded (3)" in result  # Ada, Ben, and Wes (ticked by hand)
    assert "Skipped (1)" in result and "Already completed on" in result
    assert [c.completed_on for c in live(session, people["Ada Enrolled"].id)] == [offering.ends_on]
    assert len(live(session, people["Cy Completed"].id)) == 1
    assert live(session, people["Out Sider"].id) == []


def test_only_the_modules_begun_offerings_are_offered_and_others_refused(
    app, login, session, instructor, admin, cohort, catalog
):
    offering, _ = cohort
    module_3 = add_offering(session, admin.id, "M3", starts_in=1, days=1)
    future = add_offering(session, admin.id, "M2", starts_in=60, days=1)
    cancelled = add_offering(session, admin.id, "M2", starts_in=2, days=1)
    cancelled.status = OfferingStatus.CANCELLED
    session.commit()
    with _after_it(offering):
        client = login(app.test_client(), instructor)
        html = client.get("/mark?item=M2").get_data(as_text=True)
        offered = set(re.findall(r'<option value="(offering-\d+)"', html))
        wrong_item = client.get(f"/mark?item=M2&group=offering-{module_3.id}")
        nonsense = client.get("/mark?item=M2&group=offering-x")
        unknown_item = client.get("/mark?item=NOPE")

    assert f"offering-{offering.id}" in offered
    assert f"offering-{future.id}" not in offered  # not begun
    assert f"offering-{cancelled.id}" not in offered
    assert f"offering-{module_3.id}" not in offered
    for refused in (wrong_item, nonsense):
        assert refused.status_code == 404
        assert "not one of this module" in text_of(refused)
        assert "Clinicians (" in text_of(refused)  # the search list instead, nothing ticked
        assert " checked" not in refused.get_data(as_text=True)
    assert unknown_item.status_code == 404 and "Choose a module" in text_of(unknown_item)


def test_a_search_lists_at_most_the_cap_and_says_how_many_matched(
    app, login, session, instructor, catalog, make_user, monkeypatch
):
    from lms.progress import cohort_picker

    monkeypatch.setattr(cohort_picker, "PICKER_CAP", 3)
    for n in range(5):
        make_user(Role.CLINICIAN, name=f"Capped Person {n}")
    client = login(app.test_client(), instructor)
    page = text_of(client.get("/mark?item=M1&q=Capped"))
    assert "Clinicians (5 matching" in page
    assert "Showing the first 3 of 5" in page
    assert session.scalar(select(func.count()).select_from(Completion)) == 0


def test_an_offering_older_than_those_listed_stays_chosen_when_opened_from_its_page(
    app, login, session, instructor, cohort, monkeypatch
):
    from lms.offerings import cohort_groups

    offering, _ = cohort
    monkeypatch.setattr(cohort_groups, "GROUPS_SHOWN", 0)  # as if a dozen newer ones ran since
    key = f"offering-{offering.id}"
    with _after_it(offering):
        client = login(app.test_client(), instructor)
        html = client.get(f"/mark?item=M2&group={key}").get_data(as_text=True)
    assert f'<option value="{key}" selected>' in html
    assert "Ada Enrolled" in html

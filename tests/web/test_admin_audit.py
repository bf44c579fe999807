"""The audit log browser: newest first, filters, paging, constant queries, no health data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.audit.services import record_event
from lms.auth.models import Role, User


@pytest.fixture
def admin(make_user, client, login) -> User:
    """A signed-in administrator."""
    user = make_user(Role.ADMIN, name="Ada Admin", email="ada@admin.test")
    login(client, user)
    return user


def add_event(session, at: datetime, action: str, actor: User | None, person: User | None, **facts):
    """Write one audit event at a given moment."""
    row = record_event(
        session,
        actor_id=actor.id if actor else None,
        action=action,
        subject_type="user",
        subject_id=person.id if person else None,
        person_id=person.id if person else None,
        **facts,
    )
    row.at = at
    session.commit()
    return row


def day(d: int, hour: int = 12) -> datetime:
    """A moment in March 2026, UTC."""
    return datetime(2026, 3, d, hour, tzinfo=UTC)


def test_audit_log_is_for_admins_only(app, make_user, login):
    """Instructors and reviewers cannot browse the audit log; guests are sent to sign in."""
    assert app.test_client().get("/admin/audit").status_code == 302
    for role in (Role.INSTRUCTOR, Role.MEDICAL_REVIEWER, Role.CLINICIAN):
        other = login(app.test_client(), make_user(role))
        assert other.get("/admin/audit").status_code == 403


def test_audit_log_lists_newest_first_with_who_whom_and_facts(client, admin, make_user, session):
    """Each row says when, what, who did it, whom it concerns and the recorded facts."""
    clinician = make_user(name="Cleo Clinician")
    add_event(session, day(1), "completion.recorded", admin, clinician, item="M1")
    add_event(session, day(3), "completion.revoked", admin, clinician, reason="wrong cohort")
    page = client.get("/admin/audit").get_data(as_text=True)
    table = page[page.index("<tbody") :]
    assert table.index("completion.revoked") < table.index("completion.recorded")
    assert "Cleo Clinician" in page and "Ada Admin" in page
    assert "wrong cohort" in page and "M1" in page


def test_audit_log_filters_by_action_actor_person_and_dates(client, admin, make_user, session):
    """Each filter narrows the list; they combine."""
    cleo = make_user(name="Cleo Clinician", email="cleo@clinic.test")
    dan = make_user(name="Dan Doctor", email="dan@clinic.test")
    teacher = make_user(Role.INSTRUCTOR, name="Tess Teacher", email="tess@school.test")
    add_event(session, day(1), "completion.recorded", teacher, cleo, item="EARLY-ITEM")
    add_event(session, day(5), "completion.recorded", teacher, dan, item="MIDDLE-ITEM")
    add_event(session, day(9), "equivalency.approved", admin, dan, item="LATE-ITEM")

    def shown(**args) -> set[str]:
        text = client.get("/admin/audit", query_string=args).get_data(as_text=True)
        return {tag for tag in ("EARLY-ITEM", "MIDDLE-ITEM", "LATE-ITEM") if tag in text}

    assert shown() == {"EARLY-ITEM", "MIDDLE-ITEM", "LATE-ITEM"}
    assert shown(action="completion.recorded") == {"EARLY-ITEM", "MIDDLE-ITEM"}
    assert shown(actor="tess@school") == {"EARLY-ITEM", "MIDDLE-ITEM"}
    assert shown(actor="ada admin") == {"LATE-ITEM"}
    assert shown(person="dan") == {"MIDDLE-ITEM", "LATE-ITEM"}
    assert shown(person_id=cleo.id) == {"EARLY-ITEM"}
    assert shown(actor_id=admin.id) == {"LATE-ITEM"}
    assert shown(date_from="2026-03-05") == {"MIDDLE-ITEM", "LATE-ITEM"}
    assert shown(date_to="2026-03-05") == {"EARLY-ITEM", "MIDDLE-ITEM"}
    assert shown(date_from="2026-03-02", date_to="2026-03-08") == {"MIDDLE-ITEM"}
    assert shown(action="completion.recorded", person="dan") == {"MIDDLE-ITEM"}


def test_audit_log_date_range_backwards_is_a_clear_422(client, admin):
    """An end before the start is refused with a message."""
    response = client.get(
        "/admin/audit", query_string={"date_from": "2026-03-09", "date_to": "2026-03-01"}
    )
    assert response.status_code == 422
    assert "end date is before the start date" in response.get_data(as_text=True)


def test_audit_log_pages_newest_first(client, admin, session):
    """Fifty events a page; the second page holds the oldest ones and keeps the filters."""
    for n in range(60):
        add_event(
            session, day(1 + n // 24, n % 24), "catalog.loaded", admin, None, run=f"run-{n:02d}"
        )
    first = client.get("/admin/audit", query_string={"action": "catalog.loaded"})
    text = first.get_data(as_text=True)
    assert "1–50 of 60 events" in text
    assert "run-59" in text and "run-09" not in text
    assert "action=catalog.loaded" in text and "page=2" in text
    second = client.get("/admin/audit", query_string={"action": "catalog.loaded", "page": 2})
    text = second.get_data(as_text=True)
    assert "51–60 of 60 events" in text and "run-00" in text and "run-59" not in text


def test_audit_log_runs_a_constant_number_of_queries(
    client, admin, make_user, session, engine, count_queries
):
    """Two events or forty, from many people, the page costs the same SQL statements."""
    people = [make_user() for _ in range(3)]
    for person in people[:2]:
        add_event(session, day(2), "user.created", person, person)
    with count_queries() as few:
        assert client.get("/admin/audit").status_code == 200
    people += [make_user() for _ in range(20)]
    for person in people:
        add_event(session, day(3), "user.roles_changed", admin, person, after=["clinician"])
    with count_queries() as many:
        assert client.get("/admin/audit").status_code == 200
    assert len(many) == len(few)


def test_audit_log_never_shows_health_data_even_if_a_caller_recorded_it(
    client, admin, make_user, session
):
    """Facts named like screening answers are left out of the page (defence in depth)."""
    person = make_user(name="Sam Screened")
    add_event(
        session,
        day(4),
        "screening.viewed",
        admin,
        person,
        answers="history of psychosis",
        health_notes="untreated seizure disorder",
        application_id=41,
    )
    text = client.get("/admin/audit").get_data(as_text=True)
    assert "screening.viewed" in text and "41" in text
    assert "psychosis" not in text and "seizure" not in text


def test_audit_log_user_page_links_to_the_persons_full_trail(client, admin, make_user, session):
    """The user page shows recent events and links to the filtered audit log."""
    person = make_user(name="Trail Person")
    add_event(session, day(6), "completion.recorded", admin, person, item="HTH")
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "completion.recorded" in page
    assert f"/admin/audit?person_id={person.id}" in page


def test_admin_nav_links_show_for_admins_only(app, client, admin, make_user, login):
    """The header offers Users and Audit log to admins and to nobody else."""
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/users" aria-current="page">Users<' in page
    assert 'href="/admin/audit">Audit log<' in page
    instructor = login(app.test_client(), make_user(Role.INSTRUCTOR))
    page = instructor.get("/admin/users").get_data(as_text=True)  # the 403 page has the header
    assert "/admin/audit" not in page and "/admin/users" not in page


def test_audit_events_are_not_changed_by_browsing(client, admin, session):
    """Reading the log writes nothing to it."""
    add_event(session, day(7), "user.created", admin, admin)
    count = select(func.count()).select_from(AuditEvent)
    before = session.scalar(count)
    session.commit()
    client.get("/admin/audit")
    client.get("/admin/users")
    assert session.scalar(count) == before

"""The admin users pages: search, filters, paging, roles, deactivation and licence checks."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lms.audit.models import AuditEvent
from lms.auth import services as auth_services
from lms.auth.models import Role, User
from lms.db import TrackerSession
from lms.errors import Conflict


@pytest.fixture
def admin(make_user, client, login) -> User:
    """A signed-in administrator."""
    user = make_user(Role.ADMIN, name="Ada Admin")
    login(client, user)
    return user


def events(session, action: str) -> list[AuditEvent]:
    """Audit events of one action, oldest first."""
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by("id"))
    )


def test_users_page_refuses_clinicians_and_sends_guests_to_sign_in(app, make_user, login):
    """Only admins see the users list."""
    guest = app.test_client()
    assert guest.get("/admin/users").status_code == 302
    clinician = login(app.test_client(), make_user(Role.CLINICIAN))
    assert clinician.get("/admin/users").status_code == 403
    instructor = login(app.test_client(), make_user(Role.INSTRUCTOR))
    assert instructor.get("/admin/users").status_code == 403


def test_users_search_matches_name_email_and_licence_number(client, admin, make_user):
    """The search box finds people by part of a name, an e-mail or a licence number."""
    make_user(name="Beatrice Quill", email="bq@clinic.test", licence_number="PSY-90210")
    make_user(name="Carlos Mendez", email="carlos@else.test", licence_number="MD-4451")
    for query in ("quill", "BQ@CLINIC", "90210"):
        page = client.get("/admin/users", query_string={"q": query}).get_data(as_text=True)
        assert "Beatrice Quill" in page, query
        assert "Carlos Mendez" not in page, query


def test_users_search_treats_wildcards_literally(client, admin, make_user):
    """A % or _ in the search is a character, not a wildcard."""
    make_user(name="Percent Person")
    page = client.get("/admin/users", query_string={"q": "%"}).get_data(as_text=True)
    assert "Percent Person" not in page
    assert "No one matches" in page


def test_users_filter_by_role_active_and_unverified_licence(client, admin, make_user, session):
    """Role, account state and 'licence waiting for verification' narrow the list."""
    make_user(Role.INSTRUCTOR, name="Ingrid Instructor")
    gone = make_user(name="Dora Deactivated")
    gone.active = False
    make_user(name="Uma Unverified", licence_verified_at=None)
    make_user(name="Pia Prelicensed", licensed=False)
    session.commit()

    page = client.get("/admin/users", query_string={"role": "instructor"}).get_data(as_text=True)
    assert "Ingrid Instructor" in page and "Uma Unverified" not in page

    page = client.get("/admin/users", query_string={"status": "inactive"}).get_data(as_text=True)
    assert "Dora Deactivated" in page and "Ingrid Instructor" not in page

    page = client.get("/admin/users", query_string={"status": "active"}).get_data(as_text=True)
    assert "Dora Deactivated" not in page and "Ingrid Instructor" in page

    page = client.get("/admin/users", query_string={"licence_unverified": "y"}).get_data(
        as_text=True
    )
    assert "Uma Unverified" in page
    assert "Pia Prelicensed" not in page and "Ingrid Instructor" not in page


def test_users_filter_with_an_unknown_role_is_a_clear_422(client, admin):
    """A hand-edited filter value is refused with a message, not a crash."""
    response = client.get("/admin/users", query_string={"role": "wizard"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_users_list_pages_keep_the_filters(client, admin, make_user):
    """Next/previous links carry the search along; a page past the end shows the last one."""
    for n in range(30):
        make_user(name=f"Zed Paged {n:02d}")
    first = client.get("/admin/users", query_string={"q": "zed paged"}).get_data(as_text=True)
    assert "1–25 of 30 people" in first
    assert "Zed Paged 00" in first and "Zed Paged 25" not in first
    assert "page=2" in first and "q=zed+paged" in first
    second = client.get("/admin/users", query_string={"q": "zed paged", "page": 2})
    text = second.get_data(as_text=True)
    assert "26–30 of 30 people" in text and "Zed Paged 29" in text
    beyond = client.get("/admin/users", query_string={"q": "zed paged", "page": 99})
    assert "page 2 of 2" in beyond.get_data(as_text=True)


def test_users_list_runs_a_constant_number_of_queries(
    client, admin, make_user, engine, count_queries
):
    """Three people or thirty, the list costs the same number of SQL statements."""
    for _ in range(3):
        make_user(Role.CLINICIAN, Role.INSTRUCTOR)
    with count_queries() as few:
        assert client.get("/admin/users").status_code == 200
    for _ in range(20):
        make_user(Role.CLINICIAN, Role.MEDICAL_REVIEWER)
    with count_queries() as many:
        assert client.get("/admin/users").status_code == 200
    assert len(many) == len(few)


def test_user_page_shows_account_licence_and_roles(client, admin, make_user):
    """The user page shows who the person is and the forms that act on them."""
    person = make_user(name="Rita Record", email="rita@clinic.test", licence_number="RN-777")
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "Rita Record" in page and "rita@clinic.test" in page and "RN-777" in page
    assert f"/admin/users/{person.id}/roles" in page
    assert f"/admin/users/{person.id}/deactivate" in page
    assert f'href="/clinicians/{person.id}"' in page  # the progress record, one click away


def test_staff_without_a_licence_are_not_called_pre_licensed(client, admin, make_user):
    """Only clinicians are pre-licensed; a reviewer without a licence shows a dash."""
    make_user(Role.MEDICAL_REVIEWER, name="Rene Reviewer", licensed=False)
    make_user(Role.CLINICIAN, name="Paula Prelicensed", licensed=False)
    page = client.get("/admin/users").get_data(as_text=True)
    reviewer_row = page[page.index("Rene Reviewer") :].split("</tr>")[0]
    clinician_row = page[page.index("Paula Prelicensed") :].split("</tr>")[0]
    assert "pre-licensed" not in reviewer_row
    assert "pre-licensed" in clinician_row


def test_unknown_user_page_is_404(client, admin):
    """An id that does not exist is a plain 404."""
    assert client.get("/admin/users/999999").status_code == 404


def test_admin_changes_roles_and_the_change_is_audited(client, admin, make_user, session):
    """Ticking roles replaces them and writes a user.roles_changed event with before/after."""
    person = make_user(Role.CLINICIAN)
    response = client.post(
        f"/admin/users/{person.id}/roles", data={"roles": ["clinician", "instructor"]}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, person.id).roles == {Role.CLINICIAN, Role.INSTRUCTOR}
    [changed] = events(session, "user.roles_changed")
    assert changed.actor_id == admin.id and changed.person_id == person.id
    assert changed.facts == {"before": ["clinician"], "after": ["clinician", "instructor"]}


def test_removing_every_role_is_refused_and_changes_nothing(client, admin, make_user, session):
    """A person keeps at least one role."""
    person = make_user(Role.INSTRUCTOR)
    response = client.post(f"/admin/users/{person.id}/roles", data={})
    assert response.status_code == 422
    assert "at least one role" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, person.id).roles == {Role.INSTRUCTOR}


def test_admin_cannot_remove_their_own_admin_role(client, admin, make_user, session):
    """Even with another admin around, you cannot demote yourself."""
    make_user(Role.ADMIN)
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["clinician"]})
    assert response.status_code == 403
    assert "your own administrator role" in response.get_data(as_text=True)
    session.expire_all()
    assert Role.ADMIN in session.get(User, admin.id).roles
    assert events(session, "user.roles_changed") == []


def test_last_active_admin_cannot_be_demoted_or_deactivated(session, make_user):
    """Whoever asks (a CLI, a script), the last active administrator stays."""
    only_admin = make_user(Role.ADMIN)
    retired_admin = make_user(Role.ADMIN)
    retired_admin.active = False  # a deactivated admin does not count
    operator = make_user(Role.INSTRUCTOR)
    session.commit()
    with pytest.raises(Conflict, match="last active administrator"):
        auth_services.set_roles(session, only_admin, {Role.CLINICIAN}, actor=operator)
    session.rollback()
    with pytest.raises(Conflict, match="last active administrator"):
        auth_services.set_active(session, only_admin, False, actor=operator)
    session.rollback()
    session.expire_all()
    assert only_admin.active and Role.ADMIN in only_admin.roles


def test_one_of_two_admins_can_demote_the_other(client, admin, make_user, session):
    """With two active admins, demoting one leaves one: allowed."""
    other = make_user(Role.ADMIN)
    response = client.post(f"/admin/users/{other.id}/roles", data={"roles": ["instructor"]})
    assert response.status_code == 302
    assert auth_services.count_admins(session) == 1


def test_admin_cannot_deactivate_themselves(client, admin, session):
    """Deactivating your own account is refused."""
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 403
    session.expire_all()
    assert session.get(User, admin.id).active


def test_deactivation_ends_sessions_and_reactivation_lets_them_back(
    app, client, admin, make_user, login, session
):
    """A deactivated person's open session dies at once; after reactivation they may sign in."""
    person = make_user(Role.INSTRUCTOR)
    their_browser = login(app.test_client(), person)
    assert their_browser.get("/admin/users").status_code == 403  # signed in, not an admin

    assert client.post(f"/admin/users/{person.id}/deactivate").status_code == 302
    response = their_browser.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.location
    [deactivated] = events(session, "user.deactivated")
    assert deactivated.person_id == person.id and deactivated.actor_id == admin.id

    assert client.post(f"/admin/users/{person.id}/reactivate").status_code == 302
    session.expire_all()
    assert session.get(User, person.id).active
    assert [e.person_id for e in events(session, "user.activated")] == [person.id]


def test_verify_licence_marks_it_verified_and_audits_it(client, admin, make_user, session):
    """Verifying a licence stamps who and when, and the person leaves the 'unverified' filter."""
    person = make_user(name="Vera Verify", licence_verified_at=None)
    listed = client.get("/admin/users", query_string={"licence_unverified": "y"})
    assert "Vera Verify" in listed.get_data(as_text=True)

    response = client.post(f"/admin/users/{person.id}/verify-licence", follow_redirects=True)
    assert "License of Vera Verify marked verified" in response.get_data(as_text=True)
    session.expire_all()
    verified = session.get(User, person.id)
    assert verified.licence_verified_at is not None
    assert verified.licence_verified_by_id == admin.id
    assert [e.person_id for e in events(session, "user.licence_verified")] == [person.id]
    listed = client.get("/admin/users", query_string={"licence_unverified": "y"})
    assert "Vera Verify" not in listed.get_data(as_text=True)


def test_verifying_a_pre_licensed_person_is_refused(client, admin, make_user, session):
    """There is nothing to verify for someone without a licence: a clear 422."""
    person = make_user(licensed=False)
    response = client.post(f"/admin/users/{person.id}/verify-licence")
    assert response.status_code == 422
    assert events(session, "user.licence_verified") == []


@pytest.mark.skipif(
    os.environ.get("LMS_TEST_BACKEND", "sqlite") != "postgresql",
    reason="PostgreSQL only: SQLite already serialises every writer with BEGIN IMMEDIATE",
)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(engine, make_user):
    """The guard locks the admins' rows, so the second demotion waits and then is refused."""
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    with TrackerSession(engine) as one, TrackerSession(engine) as two:
        auth_services.set_roles(
            one, one.get(User, second.id), {Role.CLINICIAN}, actor=one.get(User, first.id)
        )  # flushed, not committed: the admins' rows stay locked
        two.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock"):
            auth_services.set_roles(
                two, two.get(User, first.id), {Role.CLINICIAN}, actor=two.get(User, second.id)
            )
        two.rollback()
        one.commit()
        with pytest.raises(Conflict, match="last active administrator"):
            auth_services.set_roles(
                two, two.get(User, first.id), {Role.CLINICIAN}, actor=two.get(User, second.id)
            )
        two.rollback()
    with Session(engine) as check:
        assert auth_services.count_admins(check) == 1

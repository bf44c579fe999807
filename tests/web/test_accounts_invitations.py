"""Staff invitations: admin only, no password ever typed by an admin, single-use links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mail_support import (  # noqa: F401
    code_of,
    link_in,
    open_link,
    outbox,
    smtp_server_fixture,
    text_of,
)
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth import accounts, services
from lms.auth.models import Role, User
from lms.db import db, utcnow
from lms.errors import Conflict, Forbidden, InvalidInput

PASSWORD = "my very own secret phrase"


def _invite(client, **overrides):
    """Post the invitation form."""
    data = {"name": "Ivy Instructor", "email": "ivy@example.test", "instructor": "y"}
    data.update(overrides)
    return client.post("/admin/invite", data=data)


def test_admin_invites_an_instructor_who_sets_her_own_password(
    smtp_server, app, client, session, make_user, login
):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    assert 'name="password"' not in client.get("/admin/invite").get_data(as_text=True)
    assert _invite(client, medical_reviewer="y").status_code == 302
    ivy = session.scalar(select(User).where(User.email == "ivy@example.test"))
    assert ivy.password_hash is None and ivy.roles == {Role.INSTRUCTOR, Role.MEDICAL_REVIEWER}
    pending = client.get("/admin/invite").get_data(as_text=True)
    assert "ivy@example.test" in pending
    session.commit()

    [message] = smtp_server.inbox.to("ivy@example.test")
    link = link_in(text_of(message), "/invitation#")
    invitee = app.test_client()
    page_path = open_link(invitee, link)
    page = invitee.get(page_path)
    assert page.status_code == 200 and "Ivy Instructor" in page.get_data(as_text=True)
    done = invitee.post(page_path, data={"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302
    assert invitee.get("/account").status_code == 200
    session.expire_all()
    ivy = session.get(User, ivy.id)
    assert ivy.password_hash is not None and ivy.email_confirmed_at is not None
    assert services.authenticate(session, "ivy@example.test", PASSWORD) is not None
    session.commit()

    again = app.test_client()
    open_link(again, link)
    reused = again.post(page_path, data={"password": "another phrase!!", "confirm": "x"})
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"user.invited", "user.invitation_sent", "user.invitation_accepted"} <= actions


def test_only_admins_reach_the_invitation_page(client, make_user, login):
    for role in (Role.CLINICIAN, Role.INSTRUCTOR, Role.MEDICAL_REVIEWER):
        login(client, make_user(role))
        assert client.get("/admin/invite").status_code == 403
        assert _invite(client).status_code == 403
    client.post("/logout")
    assert client.get("/admin/invite").status_code == 302


def test_invitation_refusals_leave_nothing_behind(client, session, make_user, login):
    admin = make_user(Role.ADMIN)
    existing = make_user()
    login(client, admin)
    taken = _invite(client, email=existing.email.upper())
    assert taken.status_code == 409 and "already exists" in taken.get_data(as_text=True)
    no_role = _invite(client, instructor="")
    assert no_role.status_code == 422
    assert session.scalar(select(User).where(User.email == "ivy@example.test")) is None
    session.commit()
    assert outbox(session) == []


def test_service_refuses_non_admins_and_admin_role_invitations(session, make_user):
    instructor = make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN)
    with pytest.raises(Forbidden):
        services.invite_staff(
            session, email="a@example.test", name="A", roles={Role.INSTRUCTOR}, actor=instructor
        )
    with pytest.raises(InvalidInput):
        services.invite_staff(
            session, email="a@example.test", name="A", roles={Role.ADMIN}, actor=admin
        )


def test_invitation_expires_after_seven_days_and_can_be_resent(
    app, smtp_server, client, session, make_user, login
):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    _invite(client)
    ivy = session.scalar(select(User).where(User.email == "ivy@example.test"))
    session.commit()
    token = code_of(link_in(text_of(smtp_server.inbox.to(ivy.email)[0]), "/invitation#"))
    with app.test_request_context():
        with pytest.raises(InvalidInput, match="expired"):
            accounts.accept_invitation(
                db.session, token, PASSWORD, now=utcnow() + timedelta(days=7, minutes=1)
            )
        db.rollback()
    assert client.post(f"/admin/invite/{ivy.id}/resend").status_code == 302
    assert len(smtp_server.inbox.to(ivy.email)) == 2
    ivy.password_hash = "set"
    session.commit()
    with pytest.raises(Conflict):
        services.send_invitation(session, ivy, actor=admin)

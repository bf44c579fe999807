"""The account page: profile, licence re-verification, e-mail and password changes, choices."""

from __future__ import annotations

from clock_support import programme_today
from mail_support import outbox, smtp_server_fixture, text_of  # noqa: F401
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth import services
from lms.auth.models import Role, User
from lms.auth.passwords import verify_password
from lms.mail.models import Notification

CURRENT = "correct horse battery staple"


def _profile(user: User, **changes) -> dict:
    """The profile form as the page would post it, with changes."""
    data = {
        "name": user.name,
        "credentials": user.credentials,
        "licence_type": user.licence_type or "",
        "licence_number": user.licence_number or "",
        "licence_state": user.licence_state or "",
        "licence_expires_on": user.licence_expires_on.isoformat()
        if user.licence_expires_on
        else "",
    }
    data.update(changes)
    return data


def _facts(session, action):
    """Facts of the audit events with that action."""
    session.expire_all()
    return [e.facts for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def test_account_page_needs_sign_in(client):
    assert client.get("/account").status_code == 302


def test_name_change_is_saved_and_audited_without_values(client, session, make_user, login):
    user = make_user(name="Old Name")
    login(client, user)
    response = client.post("/account/profile", data=_profile(user, name="New Name"))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, user.id).name == "New Name"
    assert session.get(User, user.id).licence_verified_at is not None
    assert _facts(session, "user.profile_updated") == [{"fields": ["name"]}]


def test_licence_change_is_unverified_until_an_admin_verifies_it(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    admin = make_user(Role.ADMIN)
    login(client, user)
    response = client.post(
        "/account/profile", data=_profile(user, licence_number="NEW-999"), follow_redirects=True
    )
    assert "unverified until an administrator verifies it" in response.get_data(as_text=True)
    session.expire_all()
    user = session.get(User, user.id)
    assert user.licence_number == "NEW-999" and user.licence_verified_at is None
    assert not user.licensed_on(programme_today())  # retreat eligibility counts only verified ones
    assert "Unverified" in client.get("/account").get_data(as_text=True)

    services.verify_licence(session, user, actor=session.get(User, admin.id))
    from lms.db import db

    db.commit()
    assert user.licensed_on(programme_today())
    assert [m["Subject"] for m in smtp_server.inbox.to(user.email)] == ["Your license is verified"]
    assert session.scalar(select(Notification.kind).where(Notification.user_id == user.id)) == (
        "licence_verified"
    )
    assert _facts(session, "user.licence_changed")[0]["was_verified"] is True


def test_profile_refuses_a_licensed_person_without_licence_number(
    client, session, make_user, login
):
    user = make_user()
    login(client, user)
    response = client.post("/account/profile", data=_profile(user, licence_number=""))
    assert response.status_code == 422
    session.expire_all()
    assert session.get(User, user.id).licence_number == user.licence_number


def test_password_change_needs_current_password_and_signs_out_other_sessions(
    app, client, session, make_user, login
):
    user = make_user()
    login(client, user)
    other = login(app.test_client(), user)
    new = "another long passphrase"
    wrong = client.post(
        "/account/password", data={"current_password": "wrong", "password": new, "confirm": new}
    )
    assert wrong.status_code == 422
    assert "current password is not right" in wrong.get_data(as_text=True)
    assert other.get("/account").status_code == 200

    right = client.post(
        "/account/password", data={"current_password": CURRENT, "password": new, "confirm": new}
    )
    assert right.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    session.expire_all()
    assert verify_password(session.get(User, user.id).password_hash, new)


def test_optional_notifications_can_be_turned_off(client, session, make_user, login):
    user = make_user()
    login(client, user)
    response = client.post("/account/notifications", data={}, follow_redirects=True)
    assert "Optional e-mails are off" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).notify_optional is False
    client.post("/account/notifications", data={"notify_optional": "y"})
    session.expire_all()
    assert session.get(User, user.id).notify_optional is True
    assert [f["optional"] for f in _facts(session, "user.notifications_changed")] == [False, True]

"""E-mail confirmation: link on registration, confirm by POST, resend, retreat guard, banner."""

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
    unconfirmed,
)
from retreats_support import add_session, complete, screening

from lms.auth import accounts
from lms.auth.models import User
from lms.db import db, utcnow
from lms.errors import Forbidden, InvalidInput
from lms.retreats import services as retreats

REGISTRATION = {
    "name": "Nora Newcomer",
    "credentials": "LMFT",
    "email": "nora@example.test",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "licence_type": "LMFT",
    "licence_number": "LMFT 1234",
    "licence_state": "CA",
}


def _register(client, smtp_server):
    """Register Nora, sign her in and return the confirmation link she was sent."""
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 303 and response.location.endswith("/register/sent")
    [message] = smtp_server.inbox.to("nora@example.test")
    assert message["Subject"] == "Confirm your e-mail address"
    signed_in = client.post(
        "/login", data={"email": REGISTRATION["email"], "password": REGISTRATION["password"]}
    )
    assert signed_in.status_code == 302
    return link_in(text_of(message), "/confirm-email")


def test_registration_sends_a_link_that_confirms_by_post(smtp_server, client, session):
    link = _register(client, smtp_server)
    assert "/confirm-email#" in link  # the code rides in the fragment, never in a URL sent
    page_path = open_link(client, link)
    page = client.get(page_path)
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    user = session.query(User).filter_by(email="nora@example.test").one()
    assert user.email_confirmed_at is None  # GETs (a mail scanner's prefetch) change nothing
    session.commit()
    assert client.post(page_path).status_code == 302
    session.expire_all()
    assert session.get(User, user.id).email_confirmed_at is not None
    open_link(client, link)
    again = client.post(page_path, follow_redirects=True)
    assert "already confirmed" in again.get_data(as_text=True)


def test_confirm_page_without_an_opened_link_asks_for_it_and_confirms_nothing(
    smtp_server, client, session
):
    _register(client, smtp_server)
    page = client.get("/confirm-email")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    refused = client.post("/confirm-email")
    assert refused.status_code == 400 and "Open the link" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.query(User).filter_by(email="nora@example.test").one().email_confirmed_at is None


def test_a_pasted_link_opens_like_a_clicked_one(smtp_server, client, session):
    link = _register(client, smtp_server)
    answer = client.post("/confirm-email/open", data={"code": f"http://lms.test{link}"})
    assert answer.status_code == 303
    assert client.post("/confirm-email").status_code == 302
    session.expire_all()
    assert session.query(User).filter_by(email="nora@example.test").one().email_confirmed_at


def test_dashboard_shows_a_banner_until_the_address_is_confirmed(
    smtp_server, client, session, catalog
):
    link = _register(client, smtp_server)
    assert "Confirm your e-mail address" in client.get("/").get_data(as_text=True)
    client.post(open_link(client, link))
    assert "Confirm your e-mail address" not in client.get("/").get_data(as_text=True)


def test_confirmation_link_expires_after_48_hours(app, smtp_server, client, session):
    link = _register(client, smtp_server)
    token = code_of(link)
    with app.test_request_context():
        with pytest.raises(InvalidInput, match="expired"):
            accounts.confirm_email(db.session, token, now=utcnow() + timedelta(hours=49))
        assert not accounts.confirm_email(
            db.session, token, now=utcnow() + timedelta(hours=47)
        ).already


def test_link_for_an_old_address_is_refused_after_an_email_change(
    app, smtp_server, client, session
):
    link = _register(client, smtp_server)
    client.post(
        "/account/email",
        data={"new_email": "nora.new@example.test", "current_password": REGISTRATION["password"]},
    )
    [change] = smtp_server.inbox.to("nora.new@example.test")
    change_link = link_in(text_of(change), "/confirm-email-change")
    assert client.post(open_link(client, change_link)).status_code == 302  # the change is made
    response = client.post(open_link(client, link))
    assert response.status_code == 400
    assert "no longer uses" in response.get_data(as_text=True)


def test_resend_sends_a_new_link_and_refuses_when_already_confirmed(
    smtp_server, client, session, make_user, login
):
    user = unconfirmed(session, make_user())
    login(client, user)
    response = client.post("/confirm-email/resend", follow_redirects=True)
    assert "We sent a new confirmation link" in response.get_data(as_text=True)
    assert len(smtp_server.inbox.to(user.email)) == 1
    client.post(open_link(client, link_in(text_of(smtp_server.inbox.to(user.email)[0]), "#")))
    refused = client.post("/confirm-email/resend", follow_redirects=True)
    assert "already confirmed" in refused.get_data(as_text=True)
    assert len(smtp_server.inbox.to(user.email)) == 1


def test_resend_is_rate_limited(app_config, make_user):
    from lms import create_app
    from lms.ratelimit import limiter

    app_config["RATELIMIT_ENABLED"] = True
    application = create_app(app_config)
    limiter.reset()
    try:
        client = application.test_client()
        with application.app_context():
            user = db.session.get(User, make_user().id)
            unconfirmed(db.session, user)
            session_id = user.get_id()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = session_id
        statuses = [client.post("/confirm-email/resend").status_code for _ in range(4)]
        assert statuses == [302, 302, 302, 429]
    finally:
        limiter.reset()
        application.extensions["lms"].db.engine.dispose()


def test_unconfirmed_address_cannot_apply_to_a_retreat(session, make_user, catalog):
    user = unconfirmed(session, make_user())
    complete(session, user.id, "M1")
    retreat_session = add_session(session)
    with pytest.raises(Forbidden, match="Confirm your e-mail address"):
        retreats.apply(
            session,
            user_id=user.id,
            session_id=retreat_session.id,
            screening=screening(),
            screening_key="mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U=",
        )
    session.rollback()
    user = session.get(User, user.id)
    user.email_confirmed_at = utcnow()
    session.commit()
    application = retreats.apply(
        session,
        user_id=user.id,
        session_id=retreat_session.id,
        screening=screening(),
        screening_key="mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U=",
    )
    assert application.id is not None

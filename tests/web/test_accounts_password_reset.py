"""Forgot password and reset: same answer for unknown addresses, single-use expiring links."""

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
from lms.auth import accounts
from lms.auth.passwords import verify_password
from lms.auth.tokens import EMAIL_CONFIRMATION, make_token
from lms.db import db, utcnow
from lms.errors import InvalidInput

NEW_PASSWORD = "a brand new passphrase"


def _ask_reset(client, email: str):
    """Post the forgot-password form and follow to the page that answers."""
    response = client.post("/forgot-password", data={"email": email}, follow_redirects=True)
    return response


def _reset_link(smtp_server, user) -> str:
    """The reset link of the newest message the user received."""
    return link_in(text_of(smtp_server.inbox.to(user.email)[-1]), "/reset-password#")


def test_unknown_address_gets_the_same_answer_as_a_known_one(
    smtp_server, client, session, make_user
):
    user = make_user()
    known = _ask_reset(client, user.email.upper())
    unknown = _ask_reset(client, "nobody-here@example.test")
    assert known.status_code == unknown.status_code == 200
    assert known.request.path == unknown.request.path == "/login"
    answer = "If an account uses that address, we have sent it a link"
    assert answer in known.get_data(as_text=True) and answer in unknown.get_data(as_text=True)
    assert [m.to_address for m in outbox(session)] == [user.email]
    assert len(smtp_server.inbox.to(user.email)) == 1


def test_reset_link_sets_password_signs_in_and_signs_out_other_sessions(
    smtp_server, app, client, session, make_user, login
):
    user = make_user()
    other_browser = login(app.test_client(), user)
    assert other_browser.get("/account").status_code == 200
    _ask_reset(client, user.email)
    link = _reset_link(smtp_server, user)

    link = open_link(client, link)
    form = client.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200  # this browser is signed in
    assert other_browser.get("/account").status_code == 302  # the other one is signed out
    session.expire_all()
    assert verify_password(session.get(type(user), user.id).password_hash, NEW_PASSWORD)
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"user.password_reset_requested", "user.password_reset"} <= actions


def test_reused_reset_link_is_refused(smtp_server, client, session, make_user):
    user = make_user()
    _ask_reset(client, user.email)
    link = _reset_link(smtp_server, user)
    page = open_link(client, link)
    client.post(page, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post("/logout")
    open_link(client, link)
    again = client.get(page)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    open_link(client, link)
    second = client.post(page, data={"password": "yet another phrase!", "confirm": "x"})
    assert second.status_code == 400
    session.expire_all()
    assert verify_password(session.get(type(user), user.id).password_hash, NEW_PASSWORD)


def test_reset_link_expires_after_one_hour(app, session, make_user):
    user = make_user()
    with app.test_request_context():
        accounts.request_password_reset(user.email)
        db.commit()
        token = code_of(link_in(outbox(session)[0].text_body, "/reset-password#"))
        assert accounts.check_reset_link(db.session, token, now=utcnow() + timedelta(minutes=59))
        with pytest.raises(InvalidInput, match="expired"):
            accounts.reset_password(
                db.session, token, NEW_PASSWORD, now=utcnow() + timedelta(minutes=61)
            )


def test_reset_link_dies_when_the_password_changes_another_way(app, session, make_user):
    user = make_user()
    with app.test_request_context():
        accounts.request_password_reset(user.email)
        db.commit()
        token = code_of(link_in(outbox(session)[0].text_body, "/reset-password#"))
        person = db.session.get(type(user), user.id)
        accounts.change_own_password(
            db.session, person, current="correct horse battery staple", new="changed elsewhere!"
        )
        db.commit()
        with pytest.raises(InvalidInput, match="already been used"):
            accounts.check_reset_link(db.session, token)


def test_a_link_made_for_another_purpose_is_not_a_reset_link(app, client, make_user):
    user = make_user()
    with app.test_request_context():
        confirmation = make_token(EMAIL_CONFIRMATION, {"u": user.id, "f": "x", "e": user.email})
    open_link(client, f"/reset-password#{confirmation}")
    response = client.get("/reset-password")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert client.post("/reset-password/open", data={"code": "garbage"}).status_code == 400


def test_deactivated_account_gets_no_reset_mail(smtp_server, client, session, make_user):
    user = make_user(active=False)
    response = _ask_reset(client, user.email)
    assert response.status_code == 200
    assert outbox(session) == [] and smtp_server.inbox.messages == []


@pytest.fixture
def limited_client(app_config):
    """A client of an app with rate limits on (counters reset afterwards)."""
    from lms import create_app
    from lms.ratelimit import limiter

    app_config["RATELIMIT_ENABLED"] = True
    application = create_app(app_config)
    limiter.reset()
    yield application.test_client()
    limiter.reset()
    application.extensions["lms"].db.engine.dispose()


def test_forgot_password_is_rate_limited_per_address(limited_client):
    statuses = [
        limited_client.post("/forgot-password", data={"email": "someone@example.test"}).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_the_reset_page_needs_a_link_opened_in_this_browser(smtp_server, app, client, make_user):
    user = make_user()
    _ask_reset(client, user.email)
    open_link(client, _reset_link(smtp_server, user))
    stranger = app.test_client()  # a browser the code was never posted from
    assert 'name="code"' in stranger.get("/reset-password").get_data(as_text=True)
    refused = stranger.post(
        "/reset-password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 400


def test_an_opened_link_is_forgotten_after_thirty_minutes(
    smtp_server, client, make_user, monkeypatch
):
    import time

    from lms.auth import links

    user = make_user()
    _ask_reset(client, user.email)
    page = open_link(client, _reset_link(smtp_server, user))
    assert client.get(page).status_code == 200
    later = time.time() + links.ENTRY_SECONDS + 1
    monkeypatch.setattr(links.time, "time", lambda: later)
    assert 'name="code"' in client.get(page).get_data(as_text=True)


def test_a_slow_mail_server_does_not_reveal_that_an_address_exists(
    queue_in_instance, app, client, make_user
):
    # A server that accepts the connection but never greets: a send waits for the timeout.
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    app.config["LMS_SMTP_URL"] = f"smtp://127.0.0.1:{silent.getsockname()[1]}?timeout=3"
    user = make_user()
    try:
        started = time.monotonic()
        known = client.post("/forgot-password", data={"email": user.email})
        known_took = time.monotonic() - started
        started = time.monotonic()
        unknown = client.post("/forgot-password", data={"email": "nobody@example.test"})
        unknown_took = time.monotonic() - started
        assert known.status_code == unknown.status_code == 302
        # The message is sent by a job after commit: the answer does not wait 3 s for it.
        assert known_took < 1.5 and unknown_took < 1.5
    finally:
        silent.close()

"""Changing one's e-mail address: nothing changes until the link sent to the new address is
followed by the account's owner, signed in; a waiting change can be cancelled or its link
sent again; an address taken in the meantime is refused with nothing changed."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from mail_support import link_in, open_link, outbox, smtp_server_fixture, text_of  # noqa: F401
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth import email_change
from lms.auth.models import EmailChange, User
from lms.db import db, utcnow
from lms.errors import InvalidInput

CURRENT = "correct horse battery staple"
NEW = "new.address@example.test"


def _ask(client, new_email: str = NEW, password: str = CURRENT):
    """Post the change-of-address form."""
    return client.post(
        "/account/email", data={"new_email": new_email, "current_password": password}
    )


def _link(smtp_server, address: str = NEW, n: int = -1) -> str:
    """The confirmation link in the n-th message sent to an address."""
    message = smtp_server.inbox.to(address)[n]
    assert message["Subject"] == "Confirm your new e-mail address"
    return link_in(text_of(message), "/confirm-email-change")


def _actions(session) -> list[str]:
    """The audit trail's actions about accounts' addresses, oldest first."""
    session.expire_all()
    return [
        action
        for action in session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
        if action.startswith("user.email")
    ]


def _user(session, user_id: int) -> User:
    """The account as the database holds it now."""
    session.expire_all()
    return session.get(User, user_id)


def test_a_change_waits_for_the_link_and_the_account_page_says_so(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    old = user.email
    login(client, user)
    answer = _ask(client, "  New.Address@Example.TEST ")
    assert answer.status_code == 302
    assert f"We sent a link to {NEW}" in client.get(answer.location).get_data(as_text=True)
    moved = _user(session, user.id)
    assert moved.email == old and moved.email_confirmed_at is not None  # nothing changed yet
    assert session.get(EmailChange, user.id).new_email == NEW
    assert "/confirm-email-change#" in _link(smtp_server)
    assert smtp_server.inbox.to(old) == []  # the old address hears once the change is made
    page = client.get("/account").get_data(as_text=True)
    assert "Pending" in page and NEW in page
    assert "Send the link again" in page and "Cancel the change" in page
    assert _actions(session) == ["user.email_change_requested"]


def test_following_the_link_signed_in_makes_the_change_once_and_tells_the_old_address(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    old = user.email
    login(client, user)
    _ask(client)
    page_path = open_link(client, _link(smtp_server))
    page = client.get(page_path)
    assert page.status_code == 200 and NEW in page.get_data(as_text=True)
    assert _user(session, user.id).email == old  # a GET (a mail scanner's prefetch) changes nothing
    session.commit()
    done = client.post(page_path)
    assert done.status_code == 302 and done.location.endswith("/account")
    moved = _user(session, user.id)
    assert moved.email == NEW and moved.email_confirmed_at is not None
    assert session.get(EmailChange, user.id) is None
    [notice] = smtp_server.inbox.to(old)
    assert notice["Subject"] == "Your e-mail address was changed" and NEW in text_of(notice)
    assert _actions(session) == ["user.email_change_requested", "user.email_changed"]
    session.commit()

    open_link(client, _link(smtp_server))  # the same link again: used
    again = client.post(page_path)
    assert again.status_code == 400 and "can no longer be used" in again.get_data(as_text=True)
    signed_in = client.post("/logout")
    assert signed_in.status_code == 302
    relogin = client.post("/login", data={"email": NEW, "password": CURRENT})
    assert relogin.status_code == 302 and relogin.location.endswith("/")


def test_the_link_asks_a_guest_to_sign_in_first_and_works_after(
    smtp_server, app, client, session, make_user, login
):
    user = make_user()
    login(client, user)
    _ask(client)
    browser = app.test_client()  # another browser, not signed in (the phone the mail is read on)
    page_path = open_link(browser, _link(smtp_server))
    to_sign_in = browser.get(page_path)
    assert to_sign_in.status_code == 302 and "/login" in to_sign_in.location
    assert _user(session, user.id).email != NEW
    session.commit()
    signed_in = browser.post(to_sign_in.location, data={"email": user.email, "password": CURRENT})
    assert signed_in.status_code == 302 and signed_in.location.endswith(page_path)
    assert browser.post(page_path).status_code == 302
    assert _user(session, user.id).email == NEW


def test_the_link_cannot_change_another_signed_in_account(
    smtp_server, app, client, session, make_user, login
):
    """Whoever holds the new inbox but not the account (a mistyped address's owner, with an
    account of their own) cannot take the account through the link."""
    user, stranger = make_user(), make_user()
    login(client, user)
    _ask(client)
    browser = login(app.test_client(), stranger)
    page_path = open_link(browser, _link(smtp_server))
    refused = browser.post(page_path)
    assert refused.status_code == 400
    assert "This link is for another account" in refused.get_data(as_text=True)
    assert _user(session, user.id).email != NEW and _user(session, stranger.id).email != NEW
    assert session.get(EmailChange, user.id) is not None


def test_a_wrong_password_changes_nothing_and_sends_nothing(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    login(client, user)
    wrong = _ask(client, password="nope")
    assert wrong.status_code == 422
    assert "current password is not right" in wrong.get_data(as_text=True)
    assert session.get(EmailChange, user.id) is None
    assert smtp_server.inbox.messages == [] and _actions(session) == []


def test_asking_for_the_address_one_has_is_refused(client, session, make_user, login):
    user = make_user()
    login(client, user)
    same = _ask(client, user.email.upper())
    assert same.status_code == 422 and "already your e-mail address" in same.get_data(as_text=True)
    assert session.get(EmailChange, user.id) is None


def test_an_address_taken_after_the_request_is_refused_with_nothing_changed(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    old = user.email
    login(client, user)
    _ask(client)
    link = _link(smtp_server)
    make_user(email=NEW)  # someone registers the address before the link is followed
    page_path = open_link(client, link)
    refused = client.post(page_path)
    assert refused.status_code == 400
    assert f"Another account now uses {NEW}, so your address was not changed" in (
        refused.get_data(as_text=True)
    )
    assert _user(session, user.id).email == old
    assert session.get(EmailChange, user.id) is not None  # still waiting, to be cancelled
    assert smtp_server.inbox.to(old) == [] and "user.email_changed" not in _actions(session)


def test_cancelling_kills_the_link(smtp_server, client, session, make_user, login):
    user = make_user()
    login(client, user)
    _ask(client)
    link = _link(smtp_server)
    cancelled = client.post("/account/email/cancel", follow_redirects=True)
    assert "The change is canceled" in cancelled.get_data(as_text=True)
    assert session.get(EmailChange, user.id) is None
    page_path = open_link(client, link)
    refused = client.post(page_path)
    assert refused.status_code == 400 and "cancelled" in refused.get_data(as_text=True)
    assert _user(session, user.id).email != NEW
    assert _actions(session) == ["user.email_change_requested", "user.email_change_cancelled"]
    nothing = client.post("/account/email/cancel", follow_redirects=True)
    assert "No change of your e-mail address is waiting" in nothing.get_data(as_text=True)


def test_a_new_request_replaces_the_waiting_one_and_its_link(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    login(client, user)
    _ask(client)
    first = _link(smtp_server)
    _ask(client, "other.address@example.test")
    second = _link(smtp_server, "other.address@example.test")
    assert client.post(open_link(client, first)).status_code == 400
    assert client.post(open_link(client, second)).status_code == 302
    assert _user(session, user.id).email == "other.address@example.test"


def test_the_link_can_be_sent_again_and_either_copy_works_once(
    smtp_server, client, session, make_user, login
):
    user = make_user()
    login(client, user)
    _ask(client)
    again = client.post("/account/email/resend", follow_redirects=True)
    assert f"We sent a new link to {NEW}" in again.get_data(as_text=True)
    assert len(smtp_server.inbox.to(NEW)) == 2
    assert client.post(open_link(client, _link(smtp_server, n=0))).status_code == 302
    assert client.post(open_link(client, _link(smtp_server, n=1))).status_code == 400
    assert _actions(session) == [
        "user.email_change_requested",
        "user.email_change_resent",
        "user.email_changed",
    ]


def test_resending_with_nothing_waiting_says_so(smtp_server, client, make_user, login):
    login(client, make_user())
    answer = client.post("/account/email/resend", follow_redirects=True)
    assert "No change of your e-mail address is waiting" in answer.get_data(as_text=True)
    assert smtp_server.inbox.messages == []


def test_the_link_expires_after_24_hours(smtp_server, client, session, make_user, login):
    from mail_support import code_of

    user = make_user()
    login(client, user)
    _ask(client)
    token = code_of(_link(smtp_server))
    me = session.get(User, user.id)
    with pytest.raises(InvalidInput, match="expired"):
        email_change.check_email_change_link(
            db.session, token, me, now=utcnow() + timedelta(hours=25)
        )
    change = email_change.check_email_change_link(
        db.session, token, me, now=utcnow() + timedelta(hours=23)
    )
    assert change.new_email == NEW


def test_a_forged_or_foreign_purpose_link_is_refused(smtp_server, client, session, make_user):
    from lms.auth.tokens import EMAIL_CONFIRMATION, make_token

    user = make_user()
    me = session.get(User, user.id)
    with pytest.raises(InvalidInput, match="not valid"):
        email_change.check_email_change_link(db.session, "not-a-real-token-at-all", me)
    confirmation = make_token(EMAIL_CONFIRMATION, {"u": user.id, "e": NEW, "r": 1})
    with pytest.raises(InvalidInput, match="not valid"):
        email_change.check_email_change_link(db.session, confirmation, me)


def test_the_waiting_change_is_exported_and_erased_with_the_person(
    smtp_server, app, client, session, make_user, login
):
    from lms.auth.models import Role
    from lms.auth.privacy import carry_out_deletion, request_deletion
    from lms.storage import stores

    user = make_user()
    admin = make_user(Role.ADMIN)
    login(client, user)
    _ask(client)
    exported = client.post("/account/export")
    data = json.loads(zipfile.ZipFile(io.BytesIO(exported.data)).read("data.json"))
    assert data["profile"]["email_change_waiting"]["new_email"] == NEW
    me = session.get(User, user.id)
    request_deletion(session, me)
    carry_out_deletion(session, me.id, actor=session.get(User, admin.id), files=stores(app))
    session.commit()
    assert session.get(EmailChange, user.id) is None
    assert all(NEW not in (m.to_address + m.text_body) for m in outbox(session))

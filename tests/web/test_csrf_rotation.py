"""Signing in and signing out give the browser a new CSRF token; the old one stops working.

Someone who saw the token on a shared computer before sign-in (or who uses the browser after
sign-out) must not be able to forge requests for the account with it.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from lms import create_app

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture
def csrf_app(app_config):
    """The app with CSRF protection on, as in production."""
    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    application.extensions["lms"].db.engine.dispose()


def form_token(client: FlaskClient, path: str) -> str:
    """The CSRF token a page's form carries."""
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def session_token(client: FlaskClient) -> str | None:
    """The token the browser's session holds (what every form token is made from)."""
    with client.session_transaction() as flask_session:
        return flask_session.get("csrf_token")


def test_signing_in_and_out_rotates_the_csrf_token(csrf_app, make_user):
    """Before sign-in, signed in, and after sign-out: three different tokens."""
    email = make_user().email
    client = csrf_app.test_client()
    guest_form = form_token(client, "/login")
    before = session_token(client)
    signed_in = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": guest_form}
    )
    assert signed_in.status_code == 302
    assert session_token(client) is None  # forgotten at sign-in; the next page makes one
    account_form = form_token(client, "/account")
    during = session_token(client)
    assert during and during != before
    assert client.post("/logout", data={"csrf_token": account_form}).status_code == 302
    assert session_token(client) is None
    form_token(client, "/login")
    after = session_token(client)
    assert after and after not in {before, during}


def test_a_token_from_before_sign_in_is_refused_for_the_account(csrf_app, make_user):
    """The guest page's token no longer passes once someone has signed in."""
    email = make_user().email
    client = csrf_app.test_client()
    guest_form = form_token(client, "/login")
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": guest_form})
    refused = client.post("/logout", data={"csrf_token": guest_form})
    assert refused.status_code == 400
    assert client.get("/account").status_code == 200  # still signed in: nothing happened


def test_the_accounts_token_is_refused_after_sign_out(csrf_app, make_user):
    """The signed-in token does not sign the next person in or post anything after sign-out."""
    email = make_user().email
    client = csrf_app.test_client()
    client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": form_token(client, "/login")},
    )
    account_form = form_token(client, "/account")
    client.post("/logout", data={"csrf_token": account_form})
    reused = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": account_form}
    )
    assert reused.status_code == 400

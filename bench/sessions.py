"""Session cookies minted with the app's own secret, so thousands of clinicians can be "signed
in" without thousands of argon2 verifications.

What a cookie holds is what a real sign-in leaves in the session (lms/auth: flask-login's
`_user_id` is `id:auth_token`, so the app still checks the token against the database on
every request), plus the CSRF secret Flask-WTF adds on the first page with a form.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from flask import Flask
from flask_login.utils import _create_identifier

from bench.loadgen import HOST


def client_identifier(app: Flask) -> str:
    """flask-login's session-protection identifier for the bench's client (loopback, no UA)."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": HOST}):
        return _create_identifier()


def session_fields(user_id: int, auth_token: str, identifier: str) -> dict[str, object]:
    """The session a sign-in through the form would leave for this person."""
    return {
        "_user_id": f"{user_id}:{auth_token}",
        "_fresh": True,
        "_id": identifier,
        # Flask-WTF's per-session CSRF secret (a hex digest); deterministic per person here.
        "csrf_token": hashlib.sha1(f"bench-csrf-{user_id}".encode()).hexdigest(),  # noqa: S324
    }


def mint_cookie(app: Flask, fields: dict[str, object]) -> str:
    """A `Cookie:` header value carrying `fields` as the app's signed session."""
    serializer = app.session_interface.get_signing_serializer(app)
    if serializer is None:
        raise RuntimeError("the app has no secret key, so it cannot sign a session")
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(fields)}"


def mint_cookies(app: Flask, people: Iterable[tuple[int, str]]) -> list[str]:
    """One session cookie per (user id, auth token), in the order given."""
    identifier = client_identifier(app)
    return [mint_cookie(app, session_fields(uid, token, identifier)) for uid, token in people]

"""App-wide security: headers, cookies, CSRF, sign-in answers, dead cookies, errors, start-up."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid

import pytest
from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.audit.services import record_event
from lms.auth import services as auth_services
from lms.auth.models import Role
from lms.config import PROJECT_ROOT, load_config
from lms.db import db
from lms.errors import Conflict

# make_user (tests/conftest.py) gives every account this password, hashed once.
PASSWORD = "correct horse battery staple"
SAME_ANSWER = "That e-mail and password do not match an active account."


def sign_in(client, email: str, password: str = PASSWORD):
    """Post the sign-in form."""
    return client.post("/login", data={"email": email, "password": password})


# --------------------------------------------------------------------------- headers, cookies


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/static/app.css", "/healthz"])
def test_every_response_carries_the_security_headers(client, path):
    """Pages, error pages, static files and JSON all get CSP, nosniff, frame and referrer rules."""
    response = client.get(path)
    response.close()  # static files are streamed from an open file
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp and "form-action 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_of_a_signed_in_person_are_not_cached(client, make_user, login):
    """A signed-in page says no-store so a shared computer's cache keeps nothing."""
    login(client, make_user(Role.ADMIN))
    assert client.get("/admin/users").headers["Cache-Control"] == "no-store"


def test_strict_transport_security_is_sent_over_https(client):
    """HSTS goes out on HTTPS requests."""
    response = client.get("/login", base_url="https://lms.test")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_session_cookie_is_http_only_and_same_site_lax(client, make_user):
    """The sign-in cookie cannot be read by scripts nor sent by other sites' forms."""
    user = make_user()
    response = sign_in(client, user.email)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; production turns it on (next tests)


def test_production_configuration_turns_on_secure_cookies():
    """LMS_ENV=production makes every cookie Secure, HttpOnly and SameSite=Lax by default."""
    config = load_config(environ={"LMS_ENV": "production", "LMS_SECRET_KEY": "k" * 40})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_secure_cookie_setting_puts_secure_on_the_session_cookie(app_config):
    """With SESSION_COOKIE_SECURE on (production), the cookie is marked Secure."""
    from lms import create_app

    app_config["SESSION_COOKIE_SECURE"] = True
    secure_app = create_app(app_config)
    try:
        with secure_app.app_context():
            user = auth_services.create_user(
                db.session, email="secure@example.test", name="Sec Ure", password=PASSWORD
            )
            db.commit()
        response = sign_in(secure_app.test_client(), user.email)
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "session=" in c)
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        secure_app.extensions["lms"].db.engine.dispose()


# --------------------------------------------------------------------------- CSRF


def test_sign_in_without_a_csrf_token_is_refused_with_400(app_config, make_user):
    """With CSRF on, a form posted without its token is refused and nobody is signed in."""
    from lms import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    csrf_app = create_app(app_config)
    try:
        user_email = make_user().email
        client = csrf_app.test_client()
        response = sign_in(client, user_email)
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)
        assert client.get("/admin/users").status_code == 302  # still a guest
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()


def test_sign_in_with_the_forms_csrf_token_works(app_config, make_user):
    """The token the form carries is accepted (the 400 above is about the token, nothing else)."""
    import re

    from lms import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    csrf_app = create_app(app_config)
    try:
        user_email = make_user().email
        client = csrf_app.test_client()
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        response = client.post(
            "/login", data={"email": user_email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()


def test_requests_inside_one_app_context_do_not_share_csrf_tokens(app_config):
    """Each request gets the token of its own session even when an outer app context is
    shared (as in tests or a host app): a token cached on `g` must not leak across."""
    import re

    from lms import create_app

    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    pattern = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
    try:
        with csrf_app.app_context():
            first, second = csrf_app.test_client(), csrf_app.test_client()
            first_token = pattern.search(first.get("/login").get_data(as_text=True)).group(1)
            second_token = pattern.search(second.get("/login").get_data(as_text=True)).group(1)
            assert first_token != second_token
            response = second.post(
                "/login",
                data={"email": "nobody@example.test", "password": "x", "csrf_token": second_token},
            )
            assert response.status_code == 200  # the form was accepted (then the sign-in failed)
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()


def test_sign_out_is_post_only(client, make_user, login):
    """GET /logout does not sign anyone out (GET never changes anything)."""
    login(client, make_user(Role.ADMIN))
    assert client.get("/logout").status_code == 405
    assert client.get("/admin/users").status_code == 200


# --------------------------------------------------------------------------- sign-in answers


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    """Sign-in does not reveal whether an address has an account (nor whether it is disabled)."""
    user = make_user()
    disabled = make_user()
    disabled.active = False
    answers = []
    for email, password in [
        ("nobody-here@example.test", PASSWORD),
        (user.email, "wrong password entirely"),
        (disabled.email, PASSWORD),
    ]:
        response = sign_in(client, email, password)
        answers.append((response.status_code, SAME_ANSWER in response.get_data(as_text=True)))
    assert answers == [(200, True)] * 3


def test_sign_in_checks_a_password_hash_even_for_unknown_addresses(client, make_user, monkeypatch):
    """The argon2 check runs for unknown e-mails too (a dummy hash), so timing does not tell."""
    calls: list[str | None] = []
    real_verify = auth_services.verify_password

    def spy(password_hash, password):  # noqa: ANN001, ANN202
        calls.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth_services, "verify_password", spy)
    user = make_user()
    sign_in(client, "nobody-here@example.test", "whatever password")
    sign_in(client, user.email, "wrong password entirely")
    assert calls == [None, user.password_hash]


def test_dummy_hash_verification_costs_a_real_argon2_check(monkeypatch):
    """verify_password(None, ...) runs argon2 against the dummy hash rather than returning early."""
    from lms.auth import passwords

    real = passwords._hasher
    checked: list[str] = []

    class SpyHasher:
        """Records which hash argon2 was asked to check, then checks it for real."""

        def verify(self, hash_: str, password: str) -> bool:
            """Delegate to the real hasher."""
            checked.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "_hasher", SpyHasher())
    assert passwords.verify_password(None, "anything at all") is False
    assert checked == [passwords._DUMMY_HASH]


# --------------------------------------------------------------------------- dead cookies


def copied_cookie(client) -> str:
    """The value of the client's session cookie, as a thief would copy it."""
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A different browser presenting the copied cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def add_person(app, *roles: Role) -> int:
    """Create an account in an app context of its own (so requests never share its session)."""
    with app.app_context():
        user = auth_services.create_user(
            db.session,
            email=f"{uuid.uuid4().hex[:12]}@example.test",
            name="Cookie Person",
            password=PASSWORD,
            roles=set(roles) or {Role.CLINICIAN},
        )
        db.commit()
        return user.id


def email_of(app, user_id: int) -> str:
    """The account's e-mail address."""
    with app.app_context():
        return auth_services.get_user(db.session, user_id).email


@pytest.fixture
def signed_in_admin(app):
    """An admin signed in through the real form; returns (client, user id).

    Deliberately avoids the `session` fixture: its app context would be shared with the
    requests (and so would its cached User rows), hiding a stale-token bug.
    """
    user_id = add_person(app, Role.ADMIN)
    client = app.test_client()
    assert sign_in(client, email_of(app, user_id)).status_code == 302
    return client, user_id


def test_copied_cookie_stops_working_after_sign_out(app, signed_in_admin):
    """Signing out rotates the account's token: a cookie copied earlier is dead."""
    client, _ = signed_in_admin
    stolen = copied_cookie(client)
    assert replay(app, stolen).get("/admin/users").status_code == 200  # the copy works...
    assert client.post("/logout").status_code == 302
    response = replay(app, stolen).get("/admin/users")
    assert response.status_code == 302 and "/login" in response.location  # ...until sign-out


def test_copied_cookie_stops_working_after_a_password_change(app, signed_in_admin):
    """Changing the password ends every session, the copied one included."""
    client, user_id = signed_in_admin
    stolen = copied_cookie(client)
    assert replay(app, stolen).get("/admin/users").status_code == 200
    with app.app_context():
        person = auth_services.get_user(db.session, user_id)
        auth_services.set_password(db.session, person, "a brand new passphrase")
        db.commit()
    assert replay(app, stolen).get("/admin/users").status_code == 302


def test_copied_cookie_stops_working_after_deactivation(app, signed_in_admin):
    """Deactivating an account kills its sessions at once, and reactivation does not revive them."""
    client, user_id = signed_in_admin
    stolen = copied_cookie(client)
    assert replay(app, stolen).get("/admin/users").status_code == 200
    other_admin = app.test_client()
    assert sign_in(other_admin, email_of(app, add_person(app, Role.ADMIN))).status_code == 302
    assert other_admin.post(f"/admin/users/{user_id}/deactivate").status_code == 302
    assert replay(app, stolen).get("/admin/users").status_code == 302
    assert other_admin.post(f"/admin/users/{user_id}/reactivate").status_code == 302
    assert replay(app, stolen).get("/admin/users").status_code == 302


# --------------------------------------------------------------------------- error pages


@pytest.fixture
def failing_app(app):
    """The app plus a test-only blueprint whose views fail in different ways."""
    bp = Blueprint("failing_for_tests", __name__, url_prefix="/test-only")

    @bp.get("/crash")
    def crash():  # noqa: ANN202
        raise RuntimeError("db password hunter2 leaked in a stack frame")

    @bp.post("/write-then-crash")
    def write_then_crash():  # noqa: ANN202
        record_event(db.session, actor_id=None, action="test.half_done", subject_type="test")
        db.session.flush()
        raise RuntimeError("boom after writing")

    @bp.post("/refused")
    def refused():  # noqa: ANN202
        raise Conflict("That session is already full.")

    @bp.get("/json-crash")
    def json_crash():  # noqa: ANN202
        raise ValueError("internal detail")

    @bp.post("/upload")
    def upload():  # noqa: ANN202
        return f"{len(request.files['file'].read())} bytes"

    @bp.get("/ok-json")
    def ok_json():  # noqa: ANN202
        return jsonify(ok=True)

    app.register_blueprint(bp)
    return app


def test_an_unexpected_error_shows_a_generic_500_page_without_a_traceback(failing_app):
    """A crash becomes a plain 500 page: no traceback, no exception text."""
    response = failing_app.test_client().get("/test-only/crash")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in text
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_an_unexpected_error_rolls_back_what_the_request_wrote(failing_app):
    """Nothing a failed request wrote survives it."""
    client = failing_app.test_client()
    assert client.post("/test-only/write-then-crash").status_code == 500
    with failing_app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("test.%"))
        )
    assert count == 0


def test_a_domain_error_shows_its_message_with_its_status(failing_app):
    """A refused change is a 4xx page with the human message, never a 500."""
    response = failing_app.test_client().post("/test-only/refused")
    assert response.status_code == 409
    assert "That session is already full." in response.get_data(as_text=True)


def test_api_clients_get_a_generic_json_error(failing_app):
    """A client asking for JSON gets JSON, equally free of internals."""
    response = failing_app.test_client().get(
        "/test-only/json-crash", headers={"Accept": "application/json"}
    )
    assert response.status_code == 500
    assert response.is_json
    assert "internal detail" not in response.get_data(as_text=True)


def test_a_failing_error_page_falls_back_to_bare_html(failing_app, monkeypatch):
    """Even when the error template cannot render, the answer is a short generic page."""
    import lms

    def broken_template(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("template trouble with secret internals")

    monkeypatch.setattr(lms, "render_template", broken_template)
    response = failing_app.test_client().get("/test-only/crash")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in text
    assert "Traceback" not in text and "secret internals" not in text and "hunter2" not in text


def test_not_found_is_a_plain_page(client):
    """An unknown address gets the generic 404 page, in words a person understands."""
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
    assert "There is no page at this address" in response.get_data(as_text=True)


def test_forbidden_page_tells_the_person_what_to_do(client, make_user, login):
    """A clinician opening an admin page gets a 403 that says whom to ask."""
    login(client, make_user(Role.CLINICIAN))
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Ask an administrator" in response.get_data(as_text=True)


def test_an_oversized_upload_gets_a_clear_413(failing_app):
    """A request body over the limit is refused before it is read, with a plain message."""
    failing_app.config["MAX_CONTENT_LENGTH"] = 1024
    response = failing_app.test_client().post(
        "/test-only/upload", data={"file": (io.BytesIO(b"%PDF-" + b"x" * 4096), "big.pdf")}
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is too large" in page and "at most 5 MB" in page


# --------------------------------------------------------------------------- start-up


def start_in_production(*command: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet from the project root with a production environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update({"LMS_ENV": "production", "PYTHONWARNINGS": "default"}, **extra_env)
    return subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [("wsgi.py",), ("-c", "import wsgi")])
def test_production_start_without_a_secret_key_stops_with_one_line(command):
    """No LMS_SECRET_KEY in production: exit code 2 and one readable line, no traceback."""
    result = start_in_production(*command)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1
    # Where `make run` has written instance/settings.toml the line also says it was set aside.
    said = "Configuration error: LMS_SECRET_KEY is not set: a production start needs a long "
    said += "random secret"
    how = "; set LMS_SECRET_KEY to at least 24 random characters, e.g. the output of "
    how += "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    assert lines[0] in (
        f"{said}{how} (to try it out locally, run `make setup` first)",
        f"{said} ({PROJECT_ROOT / 'instance' / 'settings.toml'} holds development settings "
        f"only){how}",
    )
    assert "Traceback" not in result.stderr


def test_production_start_with_a_short_secret_key_stops_with_one_line():
    """A guessable key is refused the same way."""
    result = start_in_production("wsgi.py", LMS_SECRET_KEY="short")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "LMS_SECRET_KEY is too short" in result.stderr

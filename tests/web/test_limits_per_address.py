"""Every limit per address counts the address in the one normal form the forms and lookups
use (lms.auth.services.normalise_email): no spelling of an address (its case, spaces around
it, zero-width or full-width characters) buys more sign-in guesses, reset mails or
registration mails than the plain address gets."""

from __future__ import annotations

import pytest
from mail_support import outbox
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from lms import create_app
from lms.auth import accounts, email_change
from lms.auth import services as auth_services
from lms.auth.models import EmailChange, User
from lms.db import db
from lms.ratelimit import limiter

PASSWORD = "correct horse battery staple"
CHEAP_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
VICTIM = "victim@example.test"


def full_width(text: str) -> str:
    """The text in full-width forms (what an East Asian keyboard may type)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Twelve spellings of one address, as the review tried them (and then some).
SPELLINGS = [
    f"\u200b{VICTIM}",
    f"\u200c{VICTIM}",
    f"\u200d{VICTIM}",
    f"\ufeff{VICTIM}",
    f"\u2060{VICTIM}",
    f"\u00ad{VICTIM}",
    "vic\u200btim@example.test",
    VICTIM.upper(),
    f"  {VICTIM}\t",
    f"\u3000{VICTIM}\u00a0",
    full_width(VICTIM),
    f"\u200b {full_width('VIC')}\u200dtim@Example.TEST\u2060",
]


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """These tests count requests, not hashes: skip argon2's deliberate half-second."""
    monkeypatch.setattr(auth_services, "hash_password", lambda password: CHEAP_HASH)
    monkeypatch.setattr(accounts, "hash_password", lambda password: CHEAP_HASH)

    def verify(password_hash, password):
        return password_hash is not None and password == PASSWORD

    monkeypatch.setattr(auth_services, "verify_password", verify)
    monkeypatch.setattr(email_change, "verify_password", verify)


@pytest.fixture
def limited_app(app_config):
    """The app with rate limits on, counting in memory."""
    application = create_app(
        dict(app_config, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    )
    limiter.reset()
    yield application
    limiter.reset()
    application.extensions["lms"].db.engine.dispose()


@pytest.fixture
def victim(limited_app) -> int:
    """The account whose address is spelled every way; its id."""
    with limited_app.app_context():
        user = auth_services.create_user(db.session, email=VICTIM, name="Vic Tim", password=None)
        user.password_hash = CHEAP_HASH
        db.commit()
        return user.id


def post(app, path: str, data: dict, n: int) -> int:
    """One POST from the n-th client address; its status."""
    response = app.test_client().post(
        path, data=data, environ_base={"REMOTE_ADDR": f"10.20.{n // 250}.{n % 250 + 1}"}
    )
    return response.status_code


def test_sign_in_spelled_twelve_ways_gets_five_guesses_like_the_plain_address(limited_app, victim):
    statuses = [
        post(limited_app, "/login", {"email": spelling, "password": "wrong"}, n)
        for n, spelling in enumerate(SPELLINGS)
    ]
    assert statuses == [200] * 5 + [429] * 7
    right = {"email": VICTIM, "password": PASSWORD}
    assert post(limited_app, "/login", right, 100) == 429  # the plain address is limited too
    assert post(limited_app, "/login", {**right, "email": full_width(VICTIM)}, 101) == 429


def test_any_spelling_of_the_address_reaches_the_one_account(limited_app, victim):
    """What the limit counts as one address is one account: a full-width or zero-width
    spelling signs in to it (so no spelling is a second door with its own count)."""
    for n, spelling in enumerate([full_width(VICTIM.upper()), SPELLINGS[-1]]):
        assert post(limited_app, "/login", {"email": spelling, "password": PASSWORD}, n) == 302


def test_reset_mails_to_one_address_stop_at_three_however_it_is_spelled(limited_app, victim):
    statuses = [
        post(limited_app, "/forgot-password", {"email": spelling}, n)
        for n, spelling in enumerate(SPELLINGS[:8])
    ]
    assert statuses == [302] * 3 + [429] * 5
    with limited_app.app_context():
        sent = outbox(db.session)
        assert [(m.kind, m.to_address) for m in sent] == [("password_reset", VICTIM)] * 3


REGISTRATION = {
    "name": "Nora Newcomer",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "pre_licensed": "y",
}


def test_registration_mails_to_one_address_stop_at_three_however_it_is_spelled(limited_app, victim):
    statuses = [
        post(limited_app, "/register", {**REGISTRATION, "email": spelling}, n)
        for n, spelling in enumerate(SPELLINGS[:6])
    ]
    assert statuses == [303] * 3 + [429] * 3
    with limited_app.app_context():
        assert [m.kind for m in outbox(db.session)] == ["account_exists"] * 3
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_new_address_registered_in_another_spelling_is_stored_in_its_normal_form(
    limited_app,
):
    assert post(limited_app, "/register", {**REGISTRATION, "email": SPELLINGS[-1]}, 1) == 303
    with limited_app.app_context():
        assert db.session.scalars(select(User.email)).all() == [VICTIM]


def signed_in(app, label: str):
    """A browser signed in to a new account of its own."""
    with app.app_context():
        user = auth_services.create_user(
            db.session, email=f"{label}@example.test", name=label, password=None
        )
        user.password_hash = CHEAP_HASH
        db.commit()
        session_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = session_id
    return client


def test_mail_about_a_change_to_one_address_stops_at_three_however_it_is_spelled(
    limited_app, victim
):
    """Many accounts asking to move to the victim's address (taken: its holder is told each
    time), or sending the link again, count as asks for one address."""
    statuses = [
        signed_in(limited_app, f"asker{n}")
        .post("/account/email", data={"new_email": spelling, "current_password": PASSWORD})
        .status_code
        for n, spelling in enumerate(SPELLINGS[:4])
    ]
    assert statuses == [302] * 3 + [429]
    resend = signed_in(limited_app, "asker-late")
    with limited_app.app_context():
        me = db.session.scalar(select(User).where(User.email == "asker-late@example.test"))
        db.session.add(EmailChange(user_id=me.id, new_email=VICTIM))
        db.commit()
    assert resend.post("/account/email/resend").status_code == 429
    with limited_app.app_context():
        sent = outbox(db.session)
        kinds = [(m.kind, m.to_address) for m in sent]
        assert kinds == [("email_change_address_taken", VICTIM)] * 3


def test_the_forms_hand_on_the_normal_form(app):
    """Sign-in, registration, reset, e-mail change and invitation: the address a form gives
    the service is exactly the one the limits count."""
    from lms.auth import forms

    cases = [
        (forms.LoginForm, "email"),
        (forms.RegistrationForm, "email"),
        (forms.ForgotPasswordForm, "email"),
        (forms.ChangeEmailForm, "new_email"),
        (forms.InviteForm, "email"),
    ]
    with app.test_request_context():
        for form_class, field in cases:
            form = form_class(formdata=MultiDict({field: SPELLINGS[-1]}))
            assert form[field].data == VICTIM, form_class.__name__

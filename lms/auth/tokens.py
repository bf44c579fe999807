"""Signed, expiring links for e-mail: password reset, e-mail confirmation, a change of
address and invitations."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from lms.auth.models import User
from lms.db import utcnow
from lms.errors import InvalidInput


@dataclass(frozen=True)
class Purpose:
    """What a link is for: its own salt (a link for one purpose is useless for another)."""

    salt: str
    lifetime: timedelta
    expired_message: str


PASSWORD_RESET = Purpose(
    "lms.password-reset",
    timedelta(hours=1),
    "This password-reset link has expired (links last 1 hour). Ask for a new one.",
)
EMAIL_CONFIRMATION = Purpose(
    "lms.email-confirmation",
    timedelta(hours=48),
    "This confirmation link has expired (links last 48 hours). Ask for a new one.",
)
EMAIL_CHANGE = Purpose(
    "lms.email-change",
    timedelta(hours=24),
    "This link to change your e-mail address has expired (links last 24 hours). "
    "Send a new one from your account page.",
)
INVITATION = Purpose(
    "lms.invitation",
    timedelta(days=7),
    "This invitation has expired (invitations last 7 days). Ask an administrator to resend it.",
)

INVALID_LINK = "This link is not valid. Check that you copied all of it, or ask for a new one."
USED_LINK = (
    "This link has already been used or is no longer valid "
    "(the password or account changed since it was sent). Ask for a new one."
)


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    """A serializer keyed with the app's secret and the purpose's salt."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose.salt)


def make_token(purpose: Purpose, payload: dict[str, Any]) -> str:
    """Sign a payload for one purpose; the signature carries the time it was made."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: Purpose, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Check a link's signature and age at `now`; raises InvalidInput with a clear message."""
    now = now or utcnow()
    try:
        payload, issued = _serializer(purpose).loads(token, return_timestamp=True)
    except BadData:
        raise InvalidInput(INVALID_LINK) from None
    if not isinstance(payload, dict):
        raise InvalidInput(INVALID_LINK)
    # Clock skew between workers is tolerated by a minute; a link from the far future is forged.
    if issued > now + timedelta(minutes=1):
        raise InvalidInput(INVALID_LINK)
    if now - issued > purpose.lifetime:
        raise InvalidInput(purpose.expired_message)
    return payload


def account_fingerprint(user: User) -> str:
    """A digest of the password hash, session token and address: it changes when any does.

    Binding a link to it makes the link single-use (using it sets a password, which rotates
    the token) and kills it when the password or address changes some other way.
    """
    material = f"{user.password_hash or '-'}|{user.auth_token}|{user.email}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def account_token(purpose: Purpose, user: User) -> str:
    """A link's token naming the account as it stands now (its fingerprint), so the link
    works once: for setting a password (a reset, an invitation)."""
    return make_token(purpose, {"u": user.id, "f": account_fingerprint(user)})


def fingerprint_matches(user: User, fingerprint: object) -> bool:
    """Constant-time comparison of a link's fingerprint with the account's current one."""
    return isinstance(fingerprint, str) and hmac.compare_digest(
        fingerprint, account_fingerprint(user)
    )

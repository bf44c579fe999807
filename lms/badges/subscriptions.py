"""Badges follow certificates: a status index when one is issued, its bit when revoked; and
the catalogue file's `provider_email`, which the issuer profile carries."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from lms import signals
from lms.badges.status import allocate, mark_revoked
from lms.catalog.api import FilePart, register_file_part
from lms.db import utcnow

EMAIL_SETTING = "provider_email"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_programme_value(key: str, value: Any) -> str | None:
    """`provider_email` is one plain address (what a verifier may write to), or a problem."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        return "expected one e-mail address, e.g. ce@example.org"
    return None


# The [programme] setting this feature reads (the Open Badge's issuer e-mail).
PART = FilePart(
    programme_keys=frozenset({EMAIL_SETTING}), check_programme_value=check_programme_value
)


def on_certificate_issued(certificate: Any, *, session: Session, **_: Any) -> None:
    """Give the newly issued certificate its place in the status list (same transaction)."""
    allocate(session, certificate.id)


def on_certificate_revoked(certificate: Any, *, session: Session, **_: Any) -> None:
    """Set the certificate's revocation bit in the revocation's own transaction."""
    mark_revoked(session, certificate.id, certificate.revoked_at)


def on_certificate_superseded(certificate: Any, *, session: Session, **_: Any) -> None:
    """A reissue replaced the certificate: its credential stops verifying (its bit is set in
    the reissue's transaction); the newer certificate has a credential of its own."""
    mark_revoked(session, certificate.id, utcnow())


_RECEIVERS = (
    (signals.certificate_issued, on_certificate_issued),
    (signals.certificate_revoked, on_certificate_revoked),
    (signals.certificate_superseded, on_certificate_superseded),
)


def subscribe() -> None:
    """Connect the receivers (strong references; connecting twice changes nothing)."""
    signals.connect_all(_RECEIVERS)
    register_file_part(PART)

"""The accounts' jobs: what registering and asking for a reset leave to after the request."""

from __future__ import annotations

from typing import Any

from lms.auth.accounts import complete_registration
from lms.auth.accounts import send_password_reset as send_reset_link
from lms.db import db
from lms.jobs import URGENT, task


@task("register_account", priority=URGENT)
def register_account(registration: Any) -> None:
    """Create a registered account, or tell the address's owner they already have one."""
    complete_registration(db.session, registration)


@task("send_password_reset", priority=URGENT)
def send_password_reset(email: str) -> None:
    """E-mail a reset link if the address has an active account (nothing otherwise)."""
    send_reset_link(db.session, email)

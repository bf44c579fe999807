"""The accounts' jobs: what registering, asking for a reset and asking to change one's
address leave to after the request."""

from __future__ import annotations

from typing import Any

from lms.auth.accounts import complete_registration
from lms.auth.accounts import send_password_reset as send_reset_link
from lms.auth.email_change import send_email_change_link as send_change_link
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


@task("send_email_change_link")
def send_email_change_link(user_id: int, new_email: str, requested: int) -> None:
    """E-mail the link that makes a requested address the account's, or, when another
    account holds that address, a notice to its holder."""
    send_change_link(db.session, user_id, new_email, requested)

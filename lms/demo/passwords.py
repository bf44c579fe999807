"""The one demo password: which it is, hashed once for every demo account, and the rule that
a demo run never changes an account's password unless asked to (`--reset-passwords`)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from lms.auth.api import User, hash_password, password_problem, verify_password
from lms.errors import InvalidInput

PASSWORD_ENV = "LMS_DEMO_PASSWORD"  # noqa: S105 - the variable name, not a password
PASSWORD_FILE = "demo_password"  # noqa: S105 - a file name


def demo_password(instance_path: str | Path, environ: dict[str, str] | None = None) -> str:
    """LMS_DEMO_PASSWORD, else the one stored in instance/demo_password, else a new one
    (stored there, readable by the owner only, so the next run prints the same)."""
    environ = os.environ if environ is None else environ
    given = environ.get(PASSWORD_ENV, "")
    if given:
        if problem := password_problem(given):
            raise InvalidInput(f"{PASSWORD_ENV} is not usable: {problem}")
        return given
    stored = Path(instance_path) / PASSWORD_FILE
    if stored.exists():
        password = stored.read_text(encoding="utf-8").strip()
        if not password_problem(password):
            return password
    password = secrets.token_urlsafe(12)
    stored.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


@dataclass
class PasswordReport:
    """Which existing demo accounts did not have the demo password, and what became of it."""

    reset: list[str] = field(default_factory=list)  # set to the demo password, as asked
    kept: list[str] = field(default_factory=list)  # left with their own password


class DemoPasswords:
    """The demo password, hashed once for every demo account.

    argon2 is slow on purpose (half a second a hash here); sixteen accounts sharing one
    password can share one hash, and a hash already checked need not be checked again.
    """

    def __init__(self, password: str, *, reset: bool = False) -> None:
        """Hash the password once; `reset`: set it on accounts that have another one."""
        self.password = password
        self.hash = hash_password(password)
        self.reset = reset
        self.report = PasswordReport()
        self._checked: dict[str, bool] = {self.hash: True}

    def matches(self, password_hash: str | None) -> bool:
        """Whether the stored hash is one of the demo password."""
        if password_hash is None:
            return False
        if password_hash not in self._checked:
            self._checked[password_hash] = verify_password(password_hash, self.password)
        return self._checked[password_hash]

    def settle(self, session: Session, user: User, actor: User | None) -> None:
        """An existing demo account's password: left alone when it is the demo password or
        when nobody asked for a reset (someone may have changed it on purpose, through the
        reset flow say); set to it only with `reset`, which ends the account's sessions and is
        audited as set_password is. Either way the report says which accounts."""
        from lms.auth import services as auth

        if self.matches(user.password_hash):
            return
        if not self.reset:
            self.report.kept.append(user.email)
            return
        user.password_hash = self.hash
        auth.rotate_auth_token(user)
        auth.record_account_event(
            session,
            user,
            "user.password_changed",
            actor_id=actor.id if actor else user.id,
            reason="demo password reset by flask lms demo --reset-passwords",
        )
        self.report.reset.append(user.email)

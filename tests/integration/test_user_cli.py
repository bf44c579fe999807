"""`flask lms user create`: the address and name are checked before the password is asked for."""

from __future__ import annotations

from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role, User
from lms.auth.services import authenticate

PASSWORD = "a long enough password"


def create(app: Flask, email: str, answer: str | None = None, name: str = "Ada Admin") -> Result:
    """`lms user create --email EMAIL --name NAME`, with `answer` typed at the prompts."""
    return app.test_cli_runner().invoke(
        args=["lms", "user", "create", "--email", email, "--name", name], input=answer
    )


def counts(session) -> tuple[int, int]:
    """How many accounts and audit events there are."""
    session.rollback()
    return (
        session.scalar(select(func.count()).select_from(User)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def test_a_bad_address_is_refused_before_the_password_is_asked_for(app, session) -> None:
    result = create(app, "not-an-address")
    assert result.exit_code == 1
    assert "Enter a valid e-mail address." in result.output
    assert "Password" not in result.output
    assert counts(session) == (0, 0)


def test_a_taken_address_is_refused_before_the_password_is_asked_for(
    app, session, make_user
) -> None:
    make_user(Role.ADMIN, email="ada@example.test")
    before = counts(session)
    result = create(app, "ADA@example.test ")
    assert result.exit_code == 1
    assert "An account with that e-mail address already exists." in result.output
    assert "Password" not in result.output
    assert counts(session) == before


def test_a_good_account_asks_twice_and_again_when_the_password_is_too_short(app, session) -> None:
    result = create(app, "ada@example.test", answer=f"short\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Use at least" in result.output
    assert "Repeat for confirmation" in result.output
    assert "Created ada@example.test with roles admin." in result.output
    session.rollback()
    user = authenticate(session, "ada@example.test", PASSWORD)
    assert user is not None and user.roles == frozenset({Role.ADMIN})
    # One account and its one creation event: the early check left nothing behind.
    assert counts(session) == (1, 1)

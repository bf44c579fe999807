"""The shop's enrolments file is read the same way by the page and by `lms enrolments import`:
the same file gets the same "line N: ..." problems (422 on the page, exit status 1 on the
command line) and changes nothing, whatever its line endings, size or encoding; a good file
imports with any line ending. The participant report upload and the completions import read
through the same reader (lms.csv_reader). Runs on both backends.
"""

from __future__ import annotations

import html
import io

import pytest
from attendance_support import held_offering
from offerings_support import add_offering
from retreats_support import complete
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.csv_reader import MAX_CELL_CHARS, MAX_LINE_CHARS
from lms.offerings.models import Enrolment, ParticipantRow
from lms.progress.models import Completion


@pytest.fixture
def shop(app, session, make_user, login, catalog):
    """An offering, two clinicians ready for it, and an instructor's browser."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, capacity=5)
    people = []
    for _ in range(2):
        person = make_user(Role.CLINICIAN)
        complete(session, person.id, "M1")
        people.append(person)
    browser = login(app.test_client(), make_user(Role.INSTRUCTOR))
    return offering, [p.email for p in people], browser


def _count(session, model) -> int:
    """Rows of a table, read fresh."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _bad_files(ann: str, bob: str) -> dict[str, tuple[bytes, str]]:
    """Files the import refuses, each with the problem it must name."""
    head = b"email,enrolled_on"
    return {
        "a 200,000-character cell": (
            head + f"\n{ann},2026-11-02\n".encode() + b"a" * 200_000 + b",2026-11-03\n",
            f"line 3: the line is longer than {MAX_LINE_CHARS:,} characters",
        ),
        "a 30,000-character cell": (
            head + b'\n"' + b"a" * 30_000 + f'",2026-11-03\n{ann},2026-11-02\n'.encode(),
            f"line 2: a cell is longer than {MAX_CELL_CHARS:,} characters",
        ),
        "CR-only endings and a bad row": (
            head + f"\r{ann},2026-11-02\rnot-an-address,2026-11-03\r{bob},3.11.2026\r".encode(),
            "line 3: 'not-an-address' is not an e-mail address",
        ),
        "not UTF-8 on line 3": (
            b"\xef\xbb\xbf" + head + f"\r\n{ann},2026-11-02\r\n".encode() + b"\xe9t\xe9,x\r\n",
            "line 3: not UTF-8 text",
        ),
        "a NUL in an address": (
            head + f"\n{ann}\x00,2026-11-02\n".encode(),
            "line 2: ",
        ),
        "a date in year 1": (
            head + f"\n{ann},0001-01-01\n".encode(),
            "line 2: enrolled_on: give a date between",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "a 200,000-character cell",
        "a 30,000-character cell",
        "CR-only endings and a bad row",
        "not UTF-8 on line 3",
        "a NUL in an address",
        "a date in year 1",
    ],
)
def test_a_bad_shop_file_gets_the_same_line_problems_on_the_page_and_the_command_line(
    app, session, shop, tmp_path, case
):
    offering, (ann, bob), browser = shop
    data, problem = _bad_files(ann, bob)[case]
    audit_before = _count(session, AuditEvent)
    response = browser.post(
        f"/offerings/{offering.id}/people/import",
        data={"file": (io.BytesIO(data), "shop.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert problem in page
    path = tmp_path / "shop.csv"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(
        args=["lms", "enrolments", "import", str(path), "--offering", str(offering.id)]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr
    assert problem in result.stderr
    # The page lists what the command prints, line for line.
    for line in result.stderr.splitlines()[1:]:
        assert line.strip() in page
    assert _count(session, Enrolment) == 0
    assert _count(session, AuditEvent) == audit_before


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
@pytest.mark.parametrize("way", ["page", "command"])
def test_a_good_shop_file_imports_with_any_line_ending_and_a_bom(
    app, session, shop, tmp_path, ending, way
):
    offering, (ann, bob), browser = shop
    text = ending.join(["\ufeffEmail,Enrolled_On", f"{ann},2026-11-02", "", f"{bob},2026-11-03"])
    data = (text + ending).encode()
    if way == "page":
        response = browser.post(
            f"/offerings/{offering.id}/people/import",
            data={"file": (io.BytesIO(data), "shop.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
    else:
        path = tmp_path / "shop.csv"
        path.write_bytes(data)
        result = app.test_cli_runner().invoke(
            args=["lms", "enrolments", "import", str(path), "--offering", str(offering.id)]
        )
        assert result.exit_code == 0, result.stderr
    assert _count(session, Enrolment) == 2


def test_a_participant_report_with_a_huge_cell_or_cr_endings_is_read_by_line(
    app, session, make_user, login, catalog
):
    admin = make_user(Role.ADMIN)
    facilitator = make_user(Role.INSTRUCTOR)
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    browser = login(app.test_client(), facilitator)
    day = offering.days[0]
    header = "Name (original name),User Email,Join Time,Leave Time,Duration (minutes)"
    for body, problem in [
        (header + "\nAnn,ann@x.test,,," + "9" * 200_000 + "\n", "line 2: the line is longer"),
        # int() of this Decimal would build a billion digits: the worker hung for hours.
        (header + "\rAnn,ann@x.test,,,1e999999999\r", "line 2: duration '1e999999999'"),
        (header + "\rAnn,ann@x.test,,,\u0665\u0665\r", "line 2: duration"),
    ]:
        response = browser.post(
            f"/offerings/{offering.id}/attendance/{day.id}/import",
            data={"file": (io.BytesIO(body.encode()), "report.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422
        assert problem in html.unescape(response.get_data(as_text=True))
    assert _count(session, ParticipantRow) == 0


def test_the_completions_import_reads_cr_only_files_and_names_a_non_utf8_line(
    app, session, make_user, catalog, tmp_path
):
    person = make_user(Role.CLINICIAN)
    path = tmp_path / "completions.csv"
    path.write_bytes(
        f"email,item,completed_on,note\r{person.email},M1,2023-04-01,\r".encode() + b"\xe9\r"
    )
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["lms", "completions", "import", str(path)])
    assert refused.exit_code == 1
    assert "line 3: not UTF-8 text" in refused.stderr
    assert _count(session, Completion) == 0
    path.write_bytes(f"email,item,completed_on,note\r{person.email},M1,2023-04-01,\r".encode())
    done = runner.invoke(args=["lms", "completions", "import", str(path), "--no-certificates"])
    assert done.exit_code == 0, done.stderr
    assert _count(session, Completion) == 1

"""In a fresh clone, after `make setup`, every README command-line reference entry works as written.

The clone gets this checkout's committed tree plus its uncommitted changes to tracked files,
and reuses the running virtualenv (symlinked as `.venv`; `make -o .venv/.installed` keeps
make from reinstalling into it). Everything runs under umask 022, so the file modes checked
at the end are the tracker's doing, not the umask's. SQLite only: the commands read
instance/settings.toml and the database `make setup` made.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from lms.config import PROJECT_ROOT

pytestmark = [
    pytest.mark.clone,
    pytest.mark.skipif(
        os.environ.get("LMS_TEST_BACKEND", "sqlite") != "sqlite",
        reason="the clone runs on its own SQLite database; once per suite is enough",
    ),
    pytest.mark.skipif(
        shutil.which("git") is None
        or shutil.which("make") is None
        or not (PROJECT_ROOT / ".git").exists(),
        reason="needs git, make and a git checkout",
    ),
]

FLASK = [".venv/bin/flask", "--app", "wsgi"]
# A revoked certificate never needs its PDF; every other one does.
LIVE_WITHOUT_PDF = "SELECT count(*) FROM certificates WHERE pdf IS NULL AND revoked_at IS NULL"


def readme_commands() -> list[str]:
    """The first cell of every row of the README's command-line reference table."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Command-line reference\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (`.+?) \| ", section, flags=re.MULTILINE)


class Clone:
    """A fresh clone of this checkout with the running virtualenv, and how to run in it."""

    def __init__(self, root: Path) -> None:
        """Clone the checkout into root and link the virtualenv."""
        self.root = root
        subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(root)], check=True)
        diff = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "diff", "HEAD", "--binary"],
            check=True,
            capture_output=True,
        ).stdout
        if diff:
            subprocess.run(["git", "-C", str(root), "apply"], input=diff, check=True)
        (root / ".venv").symlink_to(Path(sys.prefix))
        # The tracker's own settings only: none of the test run's LMS_* variables.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}

    def run(self, *argv: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
        """Run a command in the clone under umask 022; fail with its output when it fails."""
        result = subprocess.run(
            ["bash", "-c", 'umask 022 && exec "$@"', "bash", *argv],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
        return result

    def flask(self, *args: str, stdin: str = "") -> str:
        """`.venv/bin/flask --app wsgi ARGS` as the README writes it; its standard output."""
        return self.run(*FLASK, *args, stdin=stdin).stdout

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the clone's database directly."""
        connection = sqlite3.connect(self.root / "instance" / "lms.sqlite3")
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serial_of(clone: Clone, email: str) -> str:
    """A live certificate's serial for the clinician with this e-mail."""
    rows = clone.query(
        "SELECT c.serial FROM certificates c JOIN users u ON u.id = c.user_id "
        "WHERE u.email = ? AND c.revoked_at IS NULL AND c.superseded_by_id IS NULL "
        "ORDER BY c.id",
        email,
    )
    assert rows, f"no live certificate for {email}"
    return rows[0][0]


# Each entry: the README's first cell, and what proves that command did its job (LANES below
# says in which order they run on the one clone).
def check_export(clone: Clone) -> None:
    """Live completions come out as CSV, to the terminal and to a file."""
    rows = list(csv.reader(io.StringIO(clone.flask("lms", "completions", "export"))))
    assert rows[0] == ["email", "item", "completed_on", "note"]
    assert any(row[0] == "priya.raman@example.org" and row[1] == "M1" for row in rows[1:])
    clone.flask("lms", "completions", "export", "--output", "export.csv")
    assert (clone.root / "export.csv").read_text().startswith("email,item,completed_on,note")


def check_catalog_show(clone: Clone) -> None:
    """The catalogue is listed with its prerequisites in words."""
    listing = clone.flask("lms", "catalog", "show", "--all")
    assert "M1" in listing and "RETREAT-L1" in listing


def check_catalog_load(clone: Clone) -> None:
    """Loading the default catalogue's file again changes nothing (`--default` ran in setup)."""
    items = clone.query("SELECT count(*) FROM catalog_items")
    clone.flask("lms", "catalog", "load", "lms/data/catalog.toml")
    assert clone.query("SELECT count(*) FROM catalog_items") == items


def check_user_create(clone: Clone) -> None:
    """A new administrator is created; the password is asked for twice."""
    password = "a long enough passphrase 42"
    output = clone.flask(
        "lms", "user", "create", "--email", "first.admin@example.org", "--name", "First Admin",
        "--role", "admin", "--credentials", "MD",
        stdin=f"{password}\n{password}\n",
    )  # fmt: skip
    assert "Created first.admin@example.org" in output
    assert clone.query("SELECT name FROM users WHERE email = 'first.admin@example.org'") == [
        ("First Admin",)
    ]


def check_import(clone: Clone) -> None:
    """Historical completions go in, recorded by the named actor."""
    (clone.root / "history.csv").write_text(
        "email,item,completed_on,note\nclinician@example.org,M1,2025-03-14,imported history\n"
    )
    clone.flask(
        "lms", "completions", "import", "history.csv",
        "--actor", "admin@example.org", "--no-certificates",
    )  # fmt: skip
    assert clone.query(
        "SELECT c.completed_on FROM completions c JOIN users u ON u.id = c.user_id "
        "JOIN catalog_items i ON i.id = c.item_id "
        "WHERE u.email = 'clinician@example.org' AND i.code = 'M1' AND c.revoked_at IS NULL"
    ) == [("2025-03-14",)]


def check_enrolments_import(clone: Clone) -> None:
    """A shop export with an unknown address changes nothing; a good one enrols (the demo's
    Module 3 is full, so the newcomer waits)."""
    ((offering,),) = clone.query(
        "SELECT o.id FROM offerings o JOIN catalog_items i ON i.id = o.item_id WHERE i.code = 'M3'"
    )
    before = clone.query("SELECT count(*) FROM enrolments")
    (clone.root / "shop.csv").write_text(
        "email,enrolled_on\ndaniel.okafor@example.org,2026-11-20\nnobody@example.org,2026-11-21\n"
    )
    refused = clone.run(
        ".venv/bin/flask", "--app", "wsgi", "lms", "enrolments", "import", "shop.csv",
        "--offering", str(offering), ok=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "line 3: nobody@example.org" in refused.stderr
    assert clone.query("SELECT count(*) FROM enrolments") == before
    (clone.root / "shop.csv").write_text(
        "email,enrolled_on\ndaniel.okafor@example.org,2026-11-20\n"
    )
    output = clone.flask("lms", "enrolments", "import", "shop.csv", "--offering", str(offering))
    assert "0 enrolled, 1 waitlisted" in output
    assert clone.query(
        "SELECT e.status, e.source FROM enrolments e JOIN users u ON u.id = e.user_id "
        "WHERE u.email = 'daniel.okafor@example.org'"
    ) == [("waitlisted", "import")]


def check_progress(clone: Clone) -> None:
    """check finds the standings right; rebuild and refresh run clean."""
    assert "match their history" in clone.flask("lms", "progress", "check")
    clone.flask("lms", "progress", "rebuild")
    clone.flask("lms", "progress", "refresh")


def check_certificates_issue(clone: Clone) -> None:
    """Every due certificate gets its PDF (the import's included)."""
    clone.flask("lms", "certificates", "issue", "--missing", "--jobs", "2")
    assert clone.query(LIVE_WITHOUT_PDF) == [(0,)]
    assert clone.query("SELECT count(*) FROM certificates WHERE pdf IS NOT NULL")[0][0] > 0


def check_revoke(clone: Clone) -> None:
    """A certificate is revoked with its reason."""
    serial = serial_of(clone, "grace.lindqvist@example.org")
    clone.flask("lms", "certificates", "revoke", serial, "--reason", "Issued in error")
    assert clone.query("SELECT revoke_reason FROM certificates WHERE serial = ?", serial) == [
        ("Issued in error",)
    ]


def check_reissue(clone: Clone) -> None:
    """A reissue supersedes the old record with a new one."""
    serial = serial_of(clone, "leila.haddad@example.org")
    assert "Reissued as" in clone.flask("lms", "certificates", "reissue", serial)
    assert clone.query(
        "SELECT superseded_by_id IS NOT NULL FROM certificates WHERE serial = ?", serial
    ) == [(1,)]


def check_rotate_key(clone: Clone) -> None:
    """`make setup` made one signing key; a rotation adds a new one that signs and keeps the
    old one published (retired)."""
    before = clone.flask("lms", "credentials", "keys").splitlines()
    assert len(before) == 1 and before[0].endswith("(signs)"), before
    assert "stays published" in clone.flask("lms", "credentials", "rotate-key")
    after = clone.flask("lms", "credentials", "keys").splitlines()
    assert len(after) == 2 and after[0].endswith("(signs)"), after
    assert after[1] == before[0].replace("(signs)", "(retired)")


def check_training_requirement(clone: Clone) -> None:
    """`show` words version 1 as migration 0018 wrote it; `publish` adds version 2 from a JSON
    rule (a malformed one is refused and stores nothing); `show` then lists both."""
    shown = clone.flask("lms", "training", "show")
    assert "Certificate of Training, version 1" in shown and "requires:" in shown, shown
    rule = clone.root / "instance" / "new-rule.json"
    rule.write_text('{"all": [{"completed": "M1"}, {"within_months": 30}]}')
    said = clone.flask("lms", "training", "publish", str(rule), "--note", "Window now 30 months")
    assert "Version 2 published; it applies to new candidates." in said, said
    rule.write_text('{"all": [{"within_months": "soon"}]}')
    refused = clone.run(*FLASK, "lms", "training", "publish", str(rule), "--everyone", ok=False)
    assert refused.returncode != 0 and "Error" in refused.stderr
    rule.unlink()
    shown = clone.flask("lms", "training", "show")
    assert "version 2 (0 candidates): Window now 30 months" in shown, shown
    assert "version 3" not in shown


def check_pictures(clone: Clone) -> None:
    """Missing first-page pictures are drawn into the owner-only store; a rerun draws none."""
    folder = clone.root / "instance" / "certificate_pictures"
    for kept in folder.glob("*.jpg"):
        kept.unlink()
    assert "0 picture(s) drawn" not in clone.flask("lms", "certificates", "pictures")
    assert list(folder.glob("*.jpg"))
    assert "Done: 0 picture(s) drawn" in clone.flask("lms", "certificates", "pictures")


def check_purge(clone: Clone) -> None:
    """The purge runs and says what it erased."""
    assert clone.flask("lms", "screening", "purge", "--older-than", "365").strip()


def check_send_pending(clone: Clone) -> None:
    """Waiting mail is written to instance/outbox as .eml files."""
    assert "Sent" in clone.flask("lms", "mail", "send-pending")
    assert list((clone.root / "instance" / "outbox").glob("*.eml"))


def check_digest(clone: Clone) -> None:
    """The digest runs."""
    assert clone.flask("lms", "mail", "digest").strip()


def check_sweep(clone: Clone) -> None:
    """The sweep enqueues the reissued certificate's render."""
    assert "Enqueued" in clone.flask("lms", "jobs", "sweep")


def check_worker(clone: Clone) -> None:
    """The consumer renders what the sweep enqueued, and stops cleanly on Ctrl-C."""
    consumer = subprocess.Popen(
        [*FLASK, "lms", "jobs", "worker", "--workers", "1", "--worker-type", "thread"],
        cwd=clone.root,
        env=clone.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a busy machine: the render is niced
        while clone.query(LIVE_WITHOUT_PDF) != [(0,)]:
            assert time.monotonic() < deadline, "the consumer did not render the reissue"
            time.sleep(0.2)
    finally:
        consumer.send_signal(signal.SIGINT)
        consumer.wait(timeout=30)


def check_demo(clone: Clone) -> None:
    """A second demo run changes nothing and says so."""
    assert "nothing changed" in clone.flask("lms", "demo")


def check_evaluations_remind(clone: Clone) -> None:
    """An attendance recorded 4 days ago without its evaluation gets one reminder, once."""
    email = "clinician@example.org"
    [(user_id, item_id)] = clone.query(
        "SELECT u.id, i.id FROM users u, catalog_items i WHERE u.email = ? AND i.code = 'M7'"
        " AND NOT EXISTS (SELECT 1 FROM completions c WHERE c.user_id = u.id"
        " AND c.item_id = i.id AND c.revoked_at IS NULL)",
        email,
    )
    connection = sqlite3.connect(clone.root / "instance" / "lms.sqlite3")
    try:
        with connection:
            offering_id = connection.execute(
                "INSERT INTO offerings (item_id, status, format, starts_on, ends_on, location,"
                " join_url, capacity, created_at, updated_at, calendar_sequence) VALUES (?,"
                " 'closed', 'live_online', date('now', '-5 days'), date('now', '-5 days'), '',"
                " '', 20, datetime('now'), datetime('now'), 0)",
                (item_id,),
            ).lastrowid
            connection.execute(
                "INSERT INTO completions (user_id, item_id, completed_on, source, recorded_at,"
                " note, offering_id) VALUES (?, ?, date('now', '-5 days'), 'attendance',"
                " datetime('now', '-4 days'), '', ?)",
                (user_id, item_id, offering_id),
            )
    finally:
        connection.close()
    assert "Sent 1 evaluation reminder(s)." in clone.flask("lms", "evaluations", "remind")
    assert "Sent 0 evaluation reminder(s)." in clone.flask("lms", "evaluations", "remind")
    assert clone.query(
        "SELECT count(*) FROM outbox_messages WHERE kind = 'evaluation_reminder'"
    ) == [(1,)]


def check_db(clone: Clone) -> None:
    """Down to the base (refused unanswered, done with --yes) and up to the newest again."""
    refused = clone.run(*FLASK, "db", "downgrade", "base", ok=False)
    assert refused.returncode == 1 and "add --yes" in refused.stderr
    assert clone.query("SELECT name FROM sqlite_master WHERE name = 'users'") == [("users",)]
    clone.flask("db", "downgrade", "base", "--yes")
    assert clone.query("SELECT name FROM sqlite_master WHERE name = 'users'") == []
    assert "head" in clone.flask("db", "upgrade")
    assert clone.query("SELECT name FROM sqlite_master WHERE name = 'users'") == [("users",)]


STEPS: dict[str, Callable[[Clone], None]] = {
    "`lms completions export [--output FILE.csv]`": check_export,
    "`lms catalog show [--all]`": check_catalog_show,
    "`lms catalog load PATH` / `--default`": check_catalog_load,
    "`lms user create --email E --name N [--role admin] [--credentials C]`": check_user_create,
    "`lms completions import FILE.csv [--actor EMAIL] [--no-certificates]`": check_import,
    "`lms progress check`": check_progress,
    "`lms progress rebuild`": check_progress,
    "`lms progress refresh`": check_progress,
    "`lms certificates issue --missing [--jobs N]`": check_certificates_issue,
    "`lms certificates revoke CODE_OR_SERIAL --reason R`": check_revoke,
    "`lms certificates reissue CODE_OR_SERIAL`": check_reissue,
    "`lms certificates pictures`": check_pictures,
    "`lms screening purge --older-than DAYS`": check_purge,
    "`lms mail send-pending`": check_send_pending,
    "`lms mail digest`": check_digest,
    "`lms jobs sweep`": check_sweep,
    "`lms evaluations remind`": check_evaluations_remind,
    "`lms jobs worker [--workers N] [--worker-type process\\|thread]`": check_worker,
    "`lms demo [--reset-passwords]`": check_demo,
    "`lms enrolments import FILE.csv --offering ID`": check_enrolments_import,
    "`lms training show`": check_training_requirement,
    "`lms training publish FILE [--note N] [--everyone]`": check_training_requirement,
    "`lms credentials keys`": check_rotate_key,
    "`lms credentials rotate-key`": check_rotate_key,
    "`db upgrade [REVISION]`": check_db,
    "`db downgrade REVISION [--yes] [--force]`": check_db,
}


def assert_owner_only(folder: Path) -> None:
    """Every folder under `folder` is 0700 and every file 0600."""
    wider = []
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            wider.append(f"{path.relative_to(folder.parent)} {mode:o}")
    assert not wider, f"readable by others: {wider}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """A fresh clone where `make setup` has just run."""
    fresh = Clone(tmp_path_factory.mktemp("clone") / "kap-lms")
    fresh.run("make", "-o", ".venv/.installed", "setup")
    # Two lanes of commands share the SQLite file: on a busy CI machine one may hold the write
    # lock past the default 5 s. The instance settings file is where an installation says so.
    with (fresh.root / "instance" / "settings.toml").open("a") as settings:
        settings.write('LMS_DATABASE_TIMEOUT = "60"\n')
    return fresh


def test_every_readme_command_has_a_check():
    """A command added to the README's reference fails here until this test runs it."""
    assert sorted(readme_commands()) == sorted(STEPS)


def test_make_setup_leaves_only_owner_only_files_and_no_inline_settings(clone):
    """Keys, database, queue and demo password are 0600 in a 0700 instance folder, and the
    Makefile passes no LMS_* variables to the commands it runs."""
    instance = clone.root / "instance"
    settings = (instance / "settings.toml").read_text()
    assert 'LMS_ENV = "development"' in settings and "LMS_SECRET_KEY" in settings
    assert {"lms.sqlite3", "queue.sqlite3", "settings.toml"} <= {p.name for p in instance.iterdir()}
    assert_owner_only(instance)
    makefile = (clone.root / "Makefile").read_text()
    assert not re.search(r"^\t.*\bLMS_[A-Z_]+=", makefile, flags=re.MULTILINE)


# Two lanes that do not depend on each other run side by side (each in its order: a lane's
# later steps rely on its earlier ones), then the schema round trip, which needs them done.
LANES: tuple[list[Callable[[Clone], None]], ...] = (
    [
        check_export,
        check_catalog_show,
        check_catalog_load,
        check_user_create,
        check_digest,
        check_purge,
        check_demo,
        check_enrolments_import,
        check_rotate_key,
        check_training_requirement,
    ],
    [
        check_import,
        check_progress,
        check_certificates_issue,
        check_revoke,
        check_reissue,
        check_pictures,
        check_sweep,
        check_worker,
        check_send_pending,
    ],
)
LAST = [check_evaluations_remind, check_db]  # the reminder's raw rows would upset `progress check`


def test_the_lanes_run_every_check():
    """No check is left out of the run, none runs twice."""
    planned = [step for lane in LANES for step in lane] + LAST
    assert sorted(planned, key=repr) == sorted(set(STEPS.values()), key=repr)


def test_every_readme_command_works_as_written_after_make_setup(clone):
    """Each command of the reference runs from the project folder and does its job."""
    from concurrent.futures import ThreadPoolExecutor

    def run_lane(lane: list[Callable[[Clone], None]]) -> None:
        for step in lane:
            step(clone)

    with ThreadPoolExecutor(max_workers=len(LANES)) as pool:
        for lane in [pool.submit(run_lane, lane) for lane in LANES]:
            lane.result()  # re-raises a lane's failure here
    for step in LAST:
        step(clone)
    assert_owner_only(clone.root / "instance")  # outbox mail and the queue included
    export = clone.root / "export.csv"
    assert stat.S_IMODE(export.stat().st_mode) == 0o600, "the export holds personal data"


def test_make_run_serves_with_the_instance_settings(clone):
    """`make run` starts the server and the consumer with no LMS_* in the environment."""
    port = free_port()
    server = subprocess.Popen(
        ["bash", "-c", f"umask 022 && exec make -o .venv/.installed run PORT={port}"],
        cwd=clone.root,
        env=clone.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, "make run stopped"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
            assert b"Sign in" in page.read()
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

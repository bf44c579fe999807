"""Everything the tracker writes is owner-only (0700 folders, 0600 files), whatever the umask.

Each test runs under umask 022, the common default that made an older `make run` leave its
keys, database and mail readable by every local user.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import text

from lms import create_app
from lms.equivalency.evidence import store_evidence
from lms.instance_settings import write_development_settings
from lms.jobs import make_huey
from lms.mail.transport import Envelope, FolderTransport
from lms.ratelimit_storage import SqliteFileStorage, default_storage_uri
from lms.storage import LocalStorage

PDF = b"%PDF-1.4\n% evidence\n"


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """Run the test under umask 022 and restore the process's own afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(path.lstat().st_mode)


def wider_than_owner(root: Path) -> list[str]:
    """Everything under root (root included) that anyone but the owner may use."""
    return [
        f"{path.relative_to(root.parent)} {mode(path):o}"
        for path in [root, *root.rglob("*")]
        if mode(path) & 0o077
    ]


def test_what_the_tracker_writes_is_owner_only_even_for_a_host_app_that_keeps_its_umask(
    tmp_path,
):
    """Database with -wal/-shm, queue, rate-limit counters, outbox mail, evidence and the
    settings file are created 0600 in 0700 folders by the code itself, not by the umask."""
    from lms.db import make_engine

    instance = tmp_path / "instance"
    write_development_settings(instance, "http://127.0.0.1:5000")
    engine = make_engine(f"sqlite:///{instance / 'lms.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
        conn.execute(text("INSERT INTO notes VALUES ('private')"))
    with engine.connect() as conn:
        conn.execute(text("SELECT body FROM notes")).all()
        assert (instance / "lms.sqlite3-wal").exists() and (instance / "lms.sqlite3-shm").exists()
        huey = make_huey({"LMS_QUEUE_URL": None, "LMS_QUEUE_NAME": "lms"}, str(instance))
        huey.storage.enqueue(b"job", 0)
        counters = SqliteFileStorage(default_storage_uri(instance))
        assert counters.incr("login:someone", 60) == 1
        assert (instance / "ratelimit.sqlite3-wal").exists()
        envelope = Envelope(
            1, "<1@lms>", "from@example.org", "to@example.org", "Reset", "text", "<p>x</p>"
        )
        with FolderTransport(instance / "outbox") as transport:
            transport.send(envelope, EmailMessage())
        store_evidence(LocalStorage(instance / "evidence", "evidence"), io.BytesIO(PDF), "x.pdf")
        assert wider_than_owner(instance) == []
    engine.dispose()
    assert {"settings.toml", "queue.sqlite3", "ratelimit.sqlite3"} <= {
        path.name for path in instance.iterdir()
    }
    assert [path.suffix for path in (instance / "outbox").iterdir()] == [".eml"]


def test_the_app_narrows_what_an_older_run_left_readable(app_config, tmp_path):
    """Keys, database, journal, queue, mail and evidence an older `make run` wrote 0644 in
    0755 folders are 0600/0700 once the app has started."""
    instance = tmp_path / "old-instance"
    (instance / "outbox").mkdir(parents=True)
    (instance / "evidence").mkdir()
    for name in ("secret_key", "screening_key", "lms.sqlite3-wal", "queue.sqlite3", "x.part"):
        (instance / name).write_text("old")
    (instance / "outbox" / "000001.eml").write_text("Subject: reset link")
    (instance / "evidence" / "old.pdf").write_bytes(PDF)
    assert wider_than_owner(instance) != []
    app = create_app({**app_config, "LMS_INSTANCE_PATH": str(instance)})
    try:
        assert wider_than_owner(instance) == []
    finally:
        app.extensions["lms"].db.engine.dispose()


def test_the_standalone_app_makes_the_rest_of_its_process_write_owner_only(app_config, tmp_path):
    """create_app() (the server and every CLI command) sets umask 077, so a file any code
    of the process writes later, an export for one, is 0600."""
    app = create_app(app_config)
    try:
        exported = tmp_path / "completions.csv"
        exported.write_text("email,item,completed_on,note\n")
        assert mode(exported) == 0o600
        folder = tmp_path / "reports"
        folder.mkdir()
        assert mode(folder) == 0o700
    finally:
        app.extensions["lms"].db.engine.dispose()


def test_narrowing_leaves_links_and_other_peoples_files_alone(tmp_path):
    """A symbolic link in the instance folder is not followed to chmod its target, and a
    sticky shared folder is not touched."""
    from lms.private_files import narrow_tree

    outside = tmp_path / "shared.txt"
    outside.write_text("not ours to change")
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "link").symlink_to(outside)
    narrow_tree(instance)
    assert mode(instance) == 0o700
    assert mode(outside) == 0o644
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp, named as a folder by mistake
    (shared / "someone-elses.txt").write_text("x")
    narrow_tree(shared)
    assert mode(shared) == 0o1777 and mode(shared / "someone-elses.txt") == 0o644

"""Render processes that never crash and never outlive their consumer, and mail that never
waits behind PDFs.

Spawned render processes used to die with SIGSEGV at exit (WeasyPrint's cffi finalisers ran
after interpreter teardown had unloaded Pango, so `g_object_unref` jumped into unmapped
code); render processes outlived a killed consumer forever (they hold both ends of their own
work pipe). The last test runs the consumer exactly as `make run` starts it, on a machine
whose cores another process keeps busy.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from mail_support import Inbox, free_port
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.certificates import renderers
from lms.certificates.models import Certificate
from lms.clock import today
from lms.config import PROJECT_ROOT
from lms.db import db
from lms.mail.models import OutboxMessage, OutboxStatus
from lms.mail.services import queue_message
from lms.progress.cohorts import record_cohort

BIN = Path(sys.executable).parent
BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")

CONTENT = {
    "design": "module",
    "holder_name": "Exit Test",
    "credentials": "",
    "licence_line": "",
    "title": "Module 1",
    "format": "Live online",
    "completed_on_text": "March 14, 2025",
    "ce_hours": "7",
    "ce_type": "CE contact hours",
    "statements": [],
    "provider_name": "P",
    "provider_address": [],
    "signatory_name": "",
    "signatory_title": "",
    "page_size": "A4",
    "serial": "KAP-2026-000001",
    "code": "2345-6789-ABCD-EFGH-JKMN",
    "verify_url": "http://lms.test/verify/2345-6789-ABCD-EFGH-JKMN",
    "issued_on_text": "January 1, 2026",
    "expires_on_text": "",
}


def _gone(pid: int) -> bool:
    """Whether a process has ended (gone, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait(check, timeout: float) -> bool:  # noqa: ANN001 - a callable returning bool
    """Poll until `check()` holds or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_render_process_ends_cleanly_however_it_was_started(monkeypatch, method: str) -> None:
    """Each render process renders, then exits with status 0 on shutdown: never -11."""
    threads = 1 if method == "fork" else 2
    if method == "fork" and renderers.threads_in_process() > 1:
        pytest.skip("this test process has threads (xdist): forking here is what the rule forbids")
    monkeypatch.setattr(renderers, "threads_in_process", lambda: threads)
    pool = renderers.render_processes(2)
    try:
        assert pool._mp_context.get_start_method() == method
        assert len(set(pool.map(renderers.warm_worker, range(2)))) == 2
        (pdf,) = pool.map(renderers.render_job, [("module", CONTENT)])
        assert pdf.startswith(b"%PDF")
        processes = list(pool._processes.values())
    finally:
        pool.shutdown(wait=True)
    for process in processes:
        process.join(30)
    assert [process.exitcode for process in processes] == [0, 0]


def test_the_thread_count_sees_threads_python_did_not_start() -> None:
    """A thread a C library starts counts: forking beside it is what the rule forbids."""
    import ctypes

    libc = ctypes.CDLL(None)
    thread = ctypes.c_ulong()
    # A thread with no Python in it: libc's sleep(2) as its start routine. Python's own count
    # cannot see it (other threads of this process may come and go meanwhile).
    start = ctypes.cast(libc.sleep, ctypes.c_void_p)
    assert libc.pthread_create(ctypes.byref(thread), None, start, ctypes.c_void_p(2)) == 0
    try:
        assert renderers.threads_in_process() >= threading.active_count() + 1
    finally:
        libc.pthread_join(thread, None)


def test_a_render_process_that_dies_costs_the_batch_nothing() -> None:
    """A renderer killed (out of memory, say): fresh ones render the batch at once."""
    pool = renderers.use_render_processes(1, niceness=0)
    try:
        (victim,) = {process.pid for process in pool._processes.values()}
        os.kill(victim, signal.SIGKILL)
        assert _wait(lambda: _gone(victim), 10)
        results = renderers.render_each([("module", CONTENT), ("module", CONTENT)])
        assert [type(result) for result in results] == [bytes, bytes]
        assert renderers._RENDERERS["pool"] is not pool  # replaced
    finally:
        renderers.stop_render_processes()


ORPHAN_SCRIPT = """
import os, signal, sys
from lms.certificates import renderers
renderers.threads_in_process = lambda: int(sys.argv[1])
pool = renderers.render_processes(2)
print(" ".join(str(pid) for pid in set(pool.map(renderers.warm_worker, range(2)))), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("threads", [1, 2], ids=["fork", "spawn"])
def test_render_processes_die_with_the_process_that_started_them(threads: int) -> None:
    """The parent killed with SIGKILL (no cleanup at all): its render processes follow it."""
    parent = subprocess.run(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(threads)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    pids = [int(pid) for pid in parent.stdout.split()]
    assert len(pids) == 2
    try:
        assert _wait(lambda: all(_gone(pid) for pid in pids), 10), "render processes outlived"
    finally:
        for pid in pids:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------ the consumer under load

CERTIFICATES = 300
BUSY = "while True: pass"


def _segfaults() -> list[str] | None:
    """The kernel log's segfault lines, or None where this user may not read it."""
    try:
        log = subprocess.run(
            ["dmesg"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [line for line in log.splitlines() if "segfault" in line]


def _children(pid: int) -> set[int]:
    """The processes `pid` started, from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


@pytest.fixture
def redis_queue_name(app_config: dict) -> str:
    """A Redis queue of this test's own (the consumer reads the same), or skip."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis at 127.0.0.1:6379 does not answer ({error})")
    name = f"lms-load-{uuid.uuid4().hex[:12]}"
    app_config.update(LMS_QUEUE_URL=url, LMS_QUEUE_NAME=name)
    return name


@pytest.mark.skipif(BACKEND != "sqlite", reason="the consumer's processes: once per suite")
def test_a_busy_consumer_renders_300_certificates_and_mail_overtakes_them(
    redis_queue_name, app_config, app, session, make_user, catalog, database_url, tmp_path
) -> None:
    """`flask --app wsgi lms jobs worker` as `make run` starts it, both cores kept busy by
    another process: 300 certificates in batches with no broken render process and no
    segfault, a mail queued behind them delivered first, nothing left running after Ctrl-C."""
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    people = [make_user(Role.CLINICIAN) for _ in range(CERTIFICATES // 5)]
    log_path = tmp_path / "consumer.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(
        LMS_ENV="development",
        LMS_SECRET_KEY=app_config["SECRET_KEY"],
        LMS_SCREENING_KEY=app_config["LMS_SCREENING_KEY"],
        LMS_PUBLIC_URL="http://lms.test",
        LMS_DATABASE_URL=database_url,
        LMS_QUEUE_URL=app_config["LMS_QUEUE_URL"],
        LMS_QUEUE_NAME=redis_queue_name,
        LMS_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=10",
    )
    segfaults_before = _segfaults()
    # Another process's work at the renders' own priority keeps both cores busy throughout.
    hogs = [
        subprocess.Popen([sys.executable, "-c", f"import os; os.nice(10)\n{BUSY}"])
        for _ in range(os.cpu_count() or 2)
    ]
    with log_path.open("w") as log:
        consumer = subprocess.Popen(
            [BIN / "flask", "--app", "wsgi", "lms", "jobs", "worker"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    renderer_pids: set[int] = set()
    try:
        assert _wait(lambda: len(_children(consumer.pid)) >= 2, 120), "no render processes"
        renderer_pids = _children(consumer.pid)
        for code in ("M1", "M2", "M3", "M4", "M5"):
            record_cohort(
                session,
                user_ids=[person.id for person in people],
                item_code=code,
                completed_on=today() - timedelta(days=1),
                actor_id=None,
            )
            db.commit()  # each cohort's render batches go on the queue
        stored = select(func.count(Certificate.id)).where(Certificate.rendered_at.is_not(None))

        def rendered() -> int:
            """Certificates stored so far (the read ends at once: no lock held between)."""
            count = session.scalar(stored)
            session.commit()
            return count

        assert _wait(lambda: rendered() >= 8, 180), "no render finished"

        # A mail queued now, behind some 35 render batches, is sent before they are done.
        queue_message(
            session,
            user=people[0],
            kind="test",
            subject="Behind the renders",
            template="notice",
            context={"message": "Hi", "link": "http://lms.test/"},
            optional=False,
        )
        db.commit()
        queued_at = time.monotonic()
        assert _wait(lambda: inbox.to(people[0].email), 30), "the mail waited behind PDFs"
        waited = time.monotonic() - queued_at
        rendered_when_mailed = rendered()
        assert rendered_when_mailed < CERTIFICATES, "the renders finished before the mail"
        assert _wait(lambda: rendered() == CERTIFICATES, 600), f"{rendered()} rendered"
        sent = select(OutboxMessage.status).where(OutboxMessage.subject == "Behind the renders")
        assert session.scalar(sent) == OutboxStatus.SENT
        session.commit()  # no read left open while the consumer stops (SQLite's lock)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)
        consumer.send_signal(signal.SIGINT)
        try:
            consumer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait(10)
        smtp.stop()
    text = log_path.read_text()
    assert "BrokenProcessPool" not in text and "Unhandled exception" not in text, text[-3000:]
    assert _wait(lambda: all(_gone(pid) for pid in renderer_pids), 10), "render processes live on"
    if segfaults_before is not None:
        new = [line for line in _segfaults() if line not in segfaults_before]
        ours = [line for line in new if any(f"[{pid}]" in line for pid in renderer_pids)]
        assert ours == [], ours
    assert waited < 30 and re.search(r"render_certificates", text)

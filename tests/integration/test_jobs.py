"""The job queue: its configuration, a real consumer on SQLite and Redis, and mail through it."""

from __future__ import annotations

import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from certificates_support import certificates_for, record
from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from mail_support import outbox, smtp_server_fixture  # noqa: F401
from sqlalchemy.orm import Session

from lms import create_app
from lms.auth.models import Role
from lms.config import ConfigError, load_config
from lms.db import db
from lms.mail.models import OutboxStatus
from lms.mail.services import queue_message

DEADLINE = 60  # seconds a real consumer gets to finish one render on a busy machine


def wait_until(check: Callable[[], bool], *, timeout: float = DEADLINE) -> bool:
    """Poll `check` until it is true or the deadline passes (a bounded wait, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@contextmanager
def running_consumer(app: Flask) -> Iterator[list[Consumer]]:
    """Real Huey consumers (worker threads, no periodic sweep) on the app's two queues."""
    queues = app.extensions["lms"].jobs
    consumers = [
        Consumer(
            huey,
            workers=1,
            periodic=False,
            worker_type="thread",
            initial_delay=0.05,
            max_delay=0.2,
            check_worker_health=False,
        )
        for huey in (queues.huey, queues.heavy_huey)
    ]
    for consumer in consumers:
        consumer._set_signal_handlers = lambda: None  # signals belong to pytest's main thread
        consumer.start()
    try:
        yield consumers
    finally:
        for consumer in consumers:
            consumer.stop(graceful=True)


def test_the_queue_setting_picks_sqlite_in_the_instance_folder_redis_or_immediate(tmp_path):
    """Unset: SqliteHuey in instance/ (owner-only); redis:// RedisHuey; immediate runs at once."""
    base = {"TESTING": True, "LMS_ENV": "testing", "LMS_INSTANCE_PATH": str(tmp_path / "i")}
    base["SECRET_KEY"] = "test-secret-key-that-is-long-enough"
    base["LMS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    embedded = create_app(base)
    huey = embedded.extensions["lms"].jobs.huey
    assert isinstance(huey, SqliteHuey) and not huey.immediate
    queue_file = tmp_path / "i" / "queue.sqlite3"
    assert queue_file.exists()
    assert stat.S_IMODE(queue_file.stat().st_mode) == 0o600
    shared = create_app({**base, "LMS_QUEUE_URL": "redis://127.0.0.1:6379/0"})
    assert isinstance(shared.extensions["lms"].jobs.huey, RedisHuey)
    immediate = create_app({**base, "LMS_QUEUE_URL": "immediate"})
    assert isinstance(immediate.extensions["lms"].jobs.huey, MemoryHuey)
    assert immediate.extensions["lms"].jobs.huey.immediate
    for application in (embedded, shared, immediate):
        application.extensions["lms"].db.engine.dispose()


@pytest.mark.parametrize("value", ["postgres://x", "amqp://host", "sometimes"])
def test_a_queue_url_of_another_kind_is_refused_at_start(value):
    """Only unset, `immediate` and Redis URLs start the app; anything else is an operator error."""
    with pytest.raises(ConfigError, match="LMS_QUEUE_URL"):
        load_config({"LMS_ENV": "development", "LMS_QUEUE_URL": value})


def test_a_real_consumer_on_sqlite_storage_renders_a_recorded_completion(
    queue_in_instance, app, session, make_user, catalog
):
    """Marked through the service, committed: a SqliteHuey consumer stores the PDF shortly."""
    assert queue_in_instance.exists()
    person = make_user(Role.CLINICIAN)
    completion = record(session, person.id, "M1")
    db.commit()
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.pdf is None  # nothing consumed yet: the request did not render
    session.commit()
    with running_consumer(app):
        assert wait_until(lambda: _rendered(session, completion.id)), "no PDF within deadline"


def _rendered(session: Session, completion_id: int) -> bool:
    """Whether the completion's certificate has its PDF (ending the read transaction)."""
    (certificate,) = certificates_for(session, completion_id)
    session.commit()
    return certificate.rendered_at is not None


@pytest.fixture
def redis_queue(app_config: dict) -> str:
    """A Redis queue of its own for one test (skipped when Redis does not answer)."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis at 127.0.0.1:6379 does not answer ({error}); start it to run this")
    name = f"lms-test-{uuid.uuid4().hex[:12]}"
    app_config["LMS_QUEUE_URL"] = url
    app_config["LMS_QUEUE_NAME"] = name
    return name


def test_a_real_consumer_on_redis_renders_a_recorded_completion(
    redis_queue, app, session, make_user, catalog
):
    """The same on RedisHuey, with a queue name no other test or host uses."""
    huey = app.extensions["lms"].jobs.huey
    assert isinstance(huey, RedisHuey) and huey.name == redis_queue
    person = make_user(Role.CLINICIAN)
    completion = record(session, person.id, "M1")
    db.commit()
    session.commit()
    try:
        with running_consumer(app):
            assert wait_until(lambda: _rendered(session, completion.id)), "no PDF within deadline"
    finally:
        app.extensions["lms"].jobs.flush()


def test_a_queued_message_is_delivered_by_the_job_after_commit(
    app, session, make_user, smtp_server
):
    """Queue, commit: the delivery job (immediate in tests) sends it through the server."""
    person = make_user(Role.CLINICIAN)
    queue_message(
        session,
        user=person,
        kind="test",
        subject="Hello",
        template="notice",
        context={"message": "Hi", "link": "http://lms.test/"},
        optional=False,
    )
    assert smtp_server.inbox.messages == []  # not sent inside the transaction
    db.commit()
    assert [m["Subject"] for m in smtp_server.inbox.to(person.email)] == ["Hello"]
    assert [row.status for row in outbox(session)] == [OutboxStatus.SENT]


def test_a_rolled_back_message_enqueues_nothing_and_sends_nothing(
    app, session, make_user, smtp_server
):
    """Rolled back, the row and its delivery job both vanish."""
    person = make_user(Role.CLINICIAN)
    queue_message(
        session,
        user=person,
        kind="test",
        subject="Never",
        template="notice",
        context={"message": "Hi", "link": "http://lms.test/"},
        optional=False,
    )
    db.rollback()
    db.commit()
    assert smtp_server.inbox.messages == []
    assert outbox(session) == []


def test_the_sweep_command_delivers_a_message_whose_job_was_lost(
    app, session, make_user, smtp_server
):
    """`flask lms jobs sweep` enqueues outbox rows still due (here: committed without a job)."""
    person = make_user(Role.CLINICIAN)
    queue_message(
        session,
        user=person,
        kind="test",
        subject="Lost job",
        template="notice",
        context={"message": "Hi", "link": "http://lms.test/"},
        optional=False,
    )
    session.commit()  # a plain commit: the after-commit hook never ran
    db.rollback()
    result = app.test_cli_runner().invoke(args=["lms", "jobs", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 outbox message(s)" in result.output
    assert [m["Subject"] for m in smtp_server.inbox.to(person.email)] == ["Lost job"]


def test_the_worker_command_refuses_immediate_mode(app):
    """There is no queue to consume when jobs run at enqueue time."""
    result = app.test_cli_runner().invoke(args=["lms", "jobs", "worker"])
    assert result.exit_code == 1
    assert "immediate" in result.output


def test_a_cohort_enqueues_its_pdfs_in_batches_and_a_mark_its_own(
    queue_in_instance, app, session, make_user, catalog
):
    """A cohort of 20 is three render jobs of at most eight certificates; a single mark one."""
    from datetime import timedelta

    from lms.certificates.services import RENDER_BATCH
    from lms.clock import today
    from lms.progress.cohorts import record_cohort

    people = [make_user(Role.CLINICIAN) for _ in range(21)]
    queues = app.extensions["lms"].jobs
    queues.flush()
    record_cohort(
        session,
        user_ids=[p.id for p in people[:20]],
        item_code="M1",
        completed_on=today() - timedelta(days=1),
        actor_id=None,
    )
    db.commit()
    record(session, people[20].id, "M1")
    db.commit()
    renders = [task for task in queues.pending() if task.name == "render_certificates"]
    batches = [list(task.args[0]) for task in renders]
    assert [len(batch) for batch in batches] == [RENDER_BATCH, RENDER_BATCH, 4, 1]
    ids = [cid for batch in batches for cid in batch]
    assert len(set(ids)) == 21
    queues.flush()


def test_the_queue_file_commits_without_waiting_for_the_disk(queue_in_instance, app):
    """The SQLite queue runs in WAL mode with synchronous=NORMAL, as the database does."""
    storage = app.extensions["lms"].jobs.huey.storage
    assert storage.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert storage.conn.execute("pragma synchronous").fetchone()[0] == 1


def test_a_render_job_stores_the_good_pdfs_of_a_batch_and_names_the_bad_one(
    app, session, make_user, catalog, monkeypatch
):
    """One content that cannot render leaves that certificate due; the others are stored."""
    from lms.certificates import base, services

    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    completions = [record(session, person.id, "M1", bulk=True) for person in people]
    session.commit()
    for completion in completions:
        services.record_due_certificate(session, completion)
    session.commit()  # a plain commit: the after-commit enqueue never ran
    db.rollback()
    due = services.due_render_ids(session)
    session.commit()
    bad = due[1]
    real = base.render_pdf

    def render(design, content):
        """Fail for the second certificate only."""
        if content["serial"].endswith(f"{bad:06d}"):
            raise ValueError("broken design")
        return real(design, content)

    monkeypatch.setattr(base, "render_pdf", render)
    with app.app_context(), pytest.raises(services.RenderFailed, match=f"#{bad}"):
        services.render_and_store_many(due)
    assert services.due_render_ids(session) == [bad]

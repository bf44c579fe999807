"""The job queue: each app's Huey instance, its tasks, the due-work sweep and `flask lms jobs`.

Slow work (rendering a certificate PDF, talking to a mail server) never runs in a request's
write transaction. The transaction writes the durable record of what is due (a certificate
row without its PDF, an outbox row); after commit a job does the work. Jobs are idempotent,
and a periodic sweep re-enqueues anything still due, so a crash between commit and enqueue,
or a lost job, only delays the work.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.storage import SqliteStorage

from lms.db import db, utcnow

QUEUE_FILE = "queue.sqlite3"
# Work younger than this is left to the job its own commit enqueued; older work lost its job.
SWEEP_GRACE = timedelta(minutes=1)
DELIVERY_BATCH = 200


def make_huey(config: dict[str, Any], instance_path: str) -> Huey:
    """The Huey instance LMS_QUEUE_URL asks for (SQLite in the instance folder when unset)."""
    url, name = config.get("LMS_QUEUE_URL"), config.get("LMS_QUEUE_NAME", "lms")
    # Results are never read: the database rows are the record of what was done.
    if url == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if url:
        return RedisHuey(name, url=url, results=False)
    path = Path(instance_path) / QUEUE_FILE
    _create_private(path)
    return SqliteHuey(name, filename=str(path), results=False, storage_class=QueueStorage)


class QueueStorage(SqliteStorage):
    """SqliteHuey's storage, committing like the tracker's own database (WAL, synchronous=NORMAL).

    Huey's default (synchronous=FULL) waits for the disk on every enqueue: about 4 ms in each
    request that marks a completion, 0.8 s for a cohort. A queue entry lost to a power cut
    (never to a crash of the app) costs nothing: the due record is in the database, and the
    sweep enqueues it again.
    """

    def _create_connection(self) -> Any:
        """Huey's connection, with synchronous=NORMAL."""
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def _create_private(path: Path) -> None:
    """Create the queue file owner-only before SQLite opens it (job arguments are private)."""
    from lms.private_files import create_private_file, private_folder

    private_folder(path.parent)
    create_private_file(path)


def _in_app(app: Flask, body: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task body so it runs in a fresh app context (its own session and after-commit)."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        """Push the app context, run the body, let the context close its session."""
        with app.app_context():
            return body(*args, **kwargs)

    return run


class Jobs:
    """One app's queue and the tasks registered on it."""

    def __init__(self, app: Flask) -> None:
        """Create the app's Huey instance and register every task on it."""
        self.huey = make_huey(app.config, app.instance_path)
        task = self.huey.task
        self.render_certificates = task(name="render_certificates")(
            _in_app(app, render_certificates)
        )
        # The one-certificate job of earlier versions, for jobs still queued from before.
        self.render_certificate = task(name="render_certificate")(_in_app(app, render_certificate))
        self.deliver_messages = task(name="deliver_messages")(_in_app(app, deliver_messages))
        self.register_account = task(name="register_account")(_in_app(app, register_account))
        self.send_password_reset = task(name="send_password_reset")(
            _in_app(app, send_password_reset)
        )
        self.sweep = self.huey.periodic_task(crontab(minute="*"), name="sweep")(
            _in_app(app, sweep_due_work)
        )
        self.reminders = self.huey.periodic_task(crontab(minute="7"), name="reminders")(
            _in_app(app, send_reminders)
        )
        self.remind_evaluations = self.huey.periodic_task(
            crontab(minute="17"), name="remind_evaluations"
        )(_in_app(app, remind_evaluations))

    def enqueue(self, name: str, *args: Any) -> None:
        """Enqueue the named task now (in immediate mode: run it now)."""
        getattr(self, name)(*args)


def jobs() -> Jobs:
    """The current app's jobs."""
    return current_app.extensions["lms"].jobs


def enqueue_after_commit(name: str, *args: Any) -> None:
    """Enqueue a task once the current unit of work commits; nothing if it rolls back."""
    db.after_commit(functools.partial(_enqueue, name, *args))


def _enqueue(name: str, *args: Any) -> None:
    """After-commit callback: hand the task to the queue."""
    jobs().enqueue(name, *args)


# --------------------------------------------------------------------------- task bodies


def render_certificates(certificate_ids: list[int], actor_id: int | None = None) -> None:
    """Render and store a batch of certificates' PDFs (nothing for those stored or revoked)."""
    from lms.certificates.services import render_and_store_many

    render_and_store_many(list(certificate_ids), actor_id=actor_id)


def render_certificate(certificate_id: int, actor_id: int | None = None) -> None:
    """Render and store one certificate's PDF (a batch of one)."""
    render_certificates([certificate_id], actor_id)


def deliver_messages(ids: list[int]) -> None:
    """Send the given outbox rows (the claim inside skips any already sent or being sent)."""
    from lms.mail.services import deliver

    deliver(ids=list(ids))


def register_account(registration: Any) -> None:
    """Create a registered account, or tell the address's owner they already have one."""
    from lms.auth.accounts import complete_registration

    complete_registration(db.session, registration)
    db.commit()


def send_password_reset(email: str) -> None:
    """E-mail a reset link if the address has an active account (nothing otherwise)."""
    from lms.auth.accounts import send_password_reset as send

    send(db.session, email)
    db.commit()


def remind_evaluations() -> int:
    """Hourly: e-mail whoever has not evaluated an offering three days after attending it
    (once per person and offering: the reminder's row is written with its outbox row)."""
    from lms.evaluations.reminders import send_due_reminders

    sent = send_due_reminders(db.session)
    db.commit()
    return sent


@dataclass(frozen=True)
class SweepReport:
    """What one sweep enqueued."""

    certificates: int
    messages: int


def sweep_due_work(now: datetime | None = None, grace: timedelta = SWEEP_GRACE) -> SweepReport:
    """Enqueue a job for every certificate without PDF and every outbox row still due."""
    from lms.certificates.services import due_render_ids
    from lms.mail.services import due_message_ids

    cutoff = (now or utcnow()) - grace
    session = db.session
    certificate_ids = due_render_ids(session, before=cutoff)
    message_ids = due_message_ids(session, before=cutoff)
    db.commit()  # end the read before enqueueing (in immediate mode the jobs run right here)
    from lms.certificates.services import render_batches

    queue = jobs()
    for batch in render_batches(certificate_ids):
        queue.enqueue("render_certificates", batch)
    for start in range(0, len(message_ids), DELIVERY_BATCH):
        queue.enqueue("deliver_messages", message_ids[start : start + DELIVERY_BATCH])
    return SweepReport(certificates=len(certificate_ids), messages=len(message_ids))


def send_reminders(today: date | None = None) -> int:
    """Queue the reminders due today (offerings about to start); how many were queued."""
    from lms.clock import today as programme_today
    from lms.mail.reminders import send_due

    count = send_due(db.session, today=today or programme_today(db.session))
    db.commit()
    return count


# --------------------------------------------------------------------------- commands

jobs_cli = AppGroup("jobs", help="The job queue: run a consumer, sweep due work.")


@jobs_cli.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="the CPU cores",
    help="Parallel jobs (and, with threads, render processes).",
)
@click.option(
    "--worker-type",
    type=click.Choice(["thread", "process"]),
    default="thread",
    show_default=True,
    help="Threads run the jobs and PDFs render on as many processes; with processes each "
    "worker renders its own.",
)
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="Lower the CPU priority of rendering, so pages answer first on a shared machine.",
)
@with_appcontext
def worker_command(workers: int, worker_type: str, niceness: int) -> None:
    """Run the job consumer (with the once-a-minute sweep) until Ctrl-C or SIGTERM."""
    from huey.consumer import Consumer

    from lms.certificates.services import stop_render_processes, use_render_processes

    huey = jobs().huey
    if huey.immediate:
        click.echo("Error: LMS_QUEUE_URL=immediate runs jobs at once; there is no queue.", err=True)
        sys.exit(1)
    # Forked processes must not share the parent's database connections.
    current_app.extensions["lms"].db.engine.dispose(close=False)
    if worker_type == "thread":
        # Only the renders are niced: a job's database write at a low priority would hold
        # SQLite's write lock while the web's processes take the CPU, and every writer
        # would wait for it. Started before any thread, so the render processes are forks.
        use_render_processes(workers, niceness=niceness)
    elif niceness:
        os.nice(niceness)  # each worker process renders, and writes, at this priority
    # What is loaded now lives as long as the process: keep the collector from scanning it
    # again and again (and forked processes from copying the pages it would touch).
    gc.collect()
    gc.freeze()
    # An idle worker polls again within a second (Huey's default backs off to 10 s, which a
    # cohort's first certificates would wait for).
    consumer = Consumer(
        huey, workers=workers, periodic=True, worker_type=worker_type, max_delay=1.0
    )
    try:
        consumer.run()
    finally:
        stop_render_processes()


@jobs_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Enqueue jobs for all due work once (for cron, or after restoring a backup)."""
    report = sweep_due_work(grace=timedelta(0))
    click.echo(
        f"Enqueued {report.certificates} certificate render(s) and "
        f"{report.messages} outbox message(s)."
    )


def register(group: click.Group) -> None:
    """Add `jobs` to `flask lms`."""
    group.add_command(jobs_cli)

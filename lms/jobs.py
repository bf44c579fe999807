"""The job queue: each app's Huey instance, the due-work sweep and `flask lms jobs`.

Slow work (rendering a certificate PDF, talking to a mail server) never runs in a request's
write transaction. The transaction writes the durable record of what is due (a certificate
row without its PDF, an outbox row); after commit a job does the work. Jobs are idempotent,
and a periodic sweep re-enqueues anything still due, so a crash between commit and enqueue,
or a lost job, only delays the work.

A core module: it imports no feature. Each feature declares its own jobs in its `tasks`
module (`@task(...)`, `due_work(...)`, `worker_hooks(...)`), which lms.features lists and
the app imports before it builds its queue.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey, crontab
from huey.storage import SqliteStorage
from sqlalchemy.orm import Session

from lms.db import db, utcnow

log = logging.getLogger(__name__)

QUEUE_FILE = "queue.sqlite3"
# Work younger than this is left to the job its own commit enqueued; older work lost its job.
SWEEP_GRACE = timedelta(minutes=1)

# Jobs someone is waiting for (a sign-in or password-reset link, any mail) go first.
URGENT = 100
# Heavy jobs (batches of PDFs) have a queue of their own, `<name>-heavy`, and threads of their
# own in the consumer: mail and links never wait behind them.
HEAVY_LANE = "heavy"
LIGHT_THREADS = 2  # the consumer's threads for everything else (mail, links, the sweep)


def make_huey(config: dict[str, Any], instance_path: str, lane: str = "") -> Huey:
    """The Huey instance LMS_QUEUE_URL asks for (SQLite in the instance folder when unset);
    `lane` names a queue of its own beside the main one (same store, its own name)."""
    url, name = config.get("LMS_QUEUE_URL"), config.get("LMS_QUEUE_NAME", "lms")
    name = f"{name}-{lane}" if lane else name
    # Results are never read: the database rows are the record of what was done.
    if url == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if url:  # the priority variant: urgent jobs overtake queued renders there too
        # Bounded waits: a hung Redis makes /healthz say so instead of hanging it.
        from redis import ConnectionPool

        pool = ConnectionPool.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        return PriorityRedisHuey(name, connection_pool=pool, results=False)
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


@dataclass(frozen=True)
class Task:
    """A kind of job a feature declares: its name on the queue and the body that does it.

    `schedule` makes it periodic (a Huey crontab). The queue runs the body in a fresh app
    context and commits the unit of work when the body returns (rolls it back when it
    raises): bodies only flush, as services do in a request.

    `priority`: higher runs first (URGENT for what a person waits for). `heavy`: long CPU work
    (rendering) that goes on the heavy queue, which the consumer serves with threads of its
    own (one per render process), so mail never waits behind PDFs.
    """

    name: str
    body: Callable[..., Any]
    schedule: Any = None
    priority: int = 0
    heavy: bool = False


DueJobs = list[tuple[str, tuple[Any, ...]]]  # (task name, args) pairs to enqueue


def ids_in_jobs(found: DueJobs) -> int:
    """How many records some batch jobs carry (each job's first argument is a list of ids)."""
    return sum(len(args[0]) for _name, args in found)


@dataclass(frozen=True)
class DueWork:
    """A feature's finder of work still due: `find(session, cutoff)` returns the jobs to
    enqueue, as (task name, args) pairs, for durable records older than the cutoff that
    have no job (a crash between commit and enqueue, or a lost job)."""

    label: str  # what the sweep command counts: "certificate render(s)"
    find: Callable[[Session, datetime], DueJobs]
    count: Callable[[DueJobs], int] = ids_in_jobs


@dataclass(frozen=True)
class WorkerHooks:
    """What a feature starts beside a consumer and stops with it (render processes)."""

    start: Callable[[int, int], None]  # (workers, niceness)
    stop: Callable[[], None]


# What the features declare, by name (each feature's tasks module; lms.features lists them).
TASKS: dict[str, Task] = {}
DUE_WORK: dict[str, DueWork] = {}
WORKER_HOOKS: dict[str, WorkerHooks] = {}


def task(
    name: str, *, schedule: Any = None, priority: int = 0, heavy: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a job: `@task("render_certificates")` over its body (the body stays callable)."""

    def declare(body: Callable[..., Any]) -> Callable[..., Any]:
        TASKS[name] = Task(name, body, schedule, priority, heavy)
        return body

    return declare


def due_work(name: str, work: DueWork) -> None:
    """Declare a finder of due work for the sweep."""
    DUE_WORK[name] = work


def worker_hooks(name: str, hooks: WorkerHooks) -> None:
    """Declare what starts and stops with a consumer."""
    WORKER_HOOKS[name] = hooks


def _in_app(app: Flask, body: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task body so it runs as one unit of work in a fresh app context.

    The one place a job's work is committed: after the body returns (a body that raises
    leaves nothing behind; the context's teardown rolls back).
    """

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        """Push the app context, run the body, commit; the context closes its session."""
        with app.app_context():
            result = body(*args, **kwargs)
            db.commit()
            return result

    return run


def checkpoint(session: Session | None = None) -> None:
    """Make a job's work so far durable before its next step: the one other place, beside
    the commit after a job's body, where a job's work is committed.

    For a job whose steps must each outlive a crash in the next (claim outbox rows before
    talking to the mail server, record each send the moment the server accepts it, store a
    batch of rendered PDFs before raising for the ones that failed). `session` is a session
    the job opened for itself; by default the job's unit of work (lms.db.db).
    """
    if session is None:
        db.commit()
    else:
        session.commit()


class Jobs:
    """One app's queue and the tasks the features declared, registered on it."""

    def __init__(self, app: Flask) -> None:
        """Create the app's Huey instance and register every declared task on it."""
        self.huey = make_huey(app.config, app.instance_path)
        self.heavy_huey = make_huey(app.config, app.instance_path, HEAVY_LANE)
        self.tasks: dict[str, Any] = {}
        for name, declared in {
            **TASKS,
            "sweep": Task("sweep", sweep_due_work, EVERY_MINUTE, priority=URGENT),
        }.items():
            wrapped = _in_app(app, declared.body)
            huey = self.heavy_huey if declared.heavy else self.huey
            if declared.schedule is not None:
                self.tasks[name] = huey.periodic_task(
                    declared.schedule, name=name, priority=declared.priority
                )(wrapped)
            else:
                self.tasks[name] = huey.task(name=name, priority=declared.priority)(wrapped)

    def pending(self) -> list[Any]:
        """The jobs waiting on both queues (for commands and tests)."""
        return [*self.huey.pending(), *self.heavy_huey.pending()]

    def flush(self) -> None:
        """Drop every queued job from both queues (tests)."""
        self.huey.flush()
        self.heavy_huey.flush()

    def enqueue(self, name: str, *args: Any) -> None:
        """Enqueue the named task now (in immediate mode: run it now)."""
        self.tasks[name](*args)

    def run(self, name: str, *args: Any) -> Any:
        """Run the named task here, as a consumer would (its own app context and commit),
        and return what it returns (for commands and tests)."""
        return self.tasks[name].call_local(*args)


EVERY_MINUTE = crontab(minute="*")


def jobs() -> Jobs:
    """The current app's jobs."""
    return current_app.extensions["lms"].jobs


def enqueue_after_commit(name: str, *args: Any) -> None:
    """Enqueue a task once the current unit of work commits; nothing if it rolls back."""
    db.after_commit(functools.partial(_enqueue, name, *args))


def _enqueue(name: str, *args: Any) -> None:
    """After-commit callback: hand the task to the queue."""
    jobs().enqueue(name, *args)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep enqueued, by the label of each kind of due work."""

    counts: dict[str, int]

    def __getitem__(self, name: str) -> int:
        """How many of the named kind of due work (`report["certificates"]`)."""
        return self.counts.get(name, 0)


def sweep_due_work(now: datetime | None = None, grace: timedelta = SWEEP_GRACE) -> SweepReport:
    """Enqueue a job for every record still due that each feature's finder reports."""
    cutoff = (now or utcnow()) - grace
    session = db.session
    found = {name: work.find(session, cutoff) for name, work in DUE_WORK.items()}
    db.commit()  # end the read before enqueueing (in immediate mode the jobs run right here)
    queue = jobs()
    for pending in found.values():
        for name, args in pending:
            queue.enqueue(name, *args)
    return SweepReport({name: DUE_WORK[name].count(pending) for name, pending in found.items()})


# --------------------------------------------------------------------------- heartbeat
# A consumer beats into its queue's own storage, so every web host reads the same beat
# without a database write (lms.job_health tells what it means).

HEARTBEAT_KEY = "lms-consumer-heartbeat"
BEAT_EVERY = 10  # seconds


def beat(huey: Huey, now: datetime | None = None) -> None:
    """Record that a consumer is alive now."""
    huey.put(HEARTBEAT_KEY, (now or utcnow()).isoformat())


def last_beat(huey: Huey) -> datetime | None:
    """When a consumer of this queue last beat (None: never)."""
    raw = huey.get(HEARTBEAT_KEY, peek=True)
    return datetime.fromisoformat(raw) if raw else None


class Heartbeat:
    """A thread in the consumer that beats until stopped (a beat that fails is logged and
    tried again next time: a queue store that is briefly away must not stop the consumer)."""

    def __init__(self, huey: Huey, every: float = BEAT_EVERY) -> None:
        """A heartbeat for the consumer of `huey`, every `every` seconds."""
        self._huey, self._every = huey, every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Beat now, then every `every` seconds."""
        beat(self._huey)
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the health turns late within SILENT_AFTER unless another beats)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._every + 5)

    def _run(self) -> None:
        """The thread: one beat per period until stopped."""
        while not self._stopped.wait(self._every):
            try:
                beat(self._huey)
            except Exception as error:  # the queue store is away: say so, try again
                log.warning("consumer heartbeat failed: %s", type(error).__name__)


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
        for hooks in WORKER_HOOKS.values():
            hooks.start(workers, niceness)
    elif niceness:
        os.nice(niceness)  # each worker process renders, and writes, at this priority
    # What is loaded now lives as long as the process: keep the collector from scanning it
    # again and again (and forked processes from copying the pages it would touch).
    gc.collect()
    gc.freeze()
    # Two consumers: the heavy queue's (one thread per render process) started beside, the
    # main one (mail, links, the sweep, the periodic jobs) run here, in charge of signals.
    # An idle worker polls again within a second (Huey's default backs off to 10 s, which a
    # cohort's first certificates would wait for).
    heavy = Consumer(
        jobs().heavy_huey, workers=workers, periodic=False, worker_type=worker_type,
        max_delay=1.0,
    )  # fmt: skip
    consumer = Consumer(
        huey, workers=LIGHT_THREADS, periodic=True, worker_type=worker_type, max_delay=1.0
    )
    heartbeat = Heartbeat(huey)
    heavy.start()
    heartbeat.start()
    try:
        consumer.run()
    finally:
        heartbeat.stop()
        heavy.stop(graceful=True)
        for hooks in WORKER_HOOKS.values():
            hooks.stop()


@jobs_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Enqueue jobs for all due work once (for cron, or after restoring a backup)."""
    report = sweep_due_work(grace=timedelta(0))
    found = [f"{report[name]} {work.label}" for name, work in DUE_WORK.items()]
    click.echo(f"Enqueued {' and '.join(found) or 'nothing'}.")


def register(group: click.Group) -> None:
    """Add `jobs` to `flask lms`."""
    group.add_command(jobs_cli)

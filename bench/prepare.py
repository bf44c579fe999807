"""Populations for the bench: a fresh database (SQLite file or throw-away PostgreSQL schema),
migrated, loaded with the catalogue and bulk-inserted clinicians, rebuilt, analysed, with
minted session cookies."""

from __future__ import annotations

import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.settings import APP, DEFAULT_PG, INSTRUCTOR_EMAIL, PASSWORD, ROOT


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """Yield the URL of an empty database of that kind; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    base = os.environ.get("LMS_BENCH_DATABASE_URL") or os.environ.get(
        "LMS_TEST_DATABASE_URL", DEFAULT_PG
    )
    schema = f"lms_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base)
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def server_environment(url: str, workdir: Path) -> dict[str, str]:
    """The LMS_* settings the bench server, consumer and CLI run with (production mode)."""
    env = {
        **os.environ,
        "LMS_ENV": "production",
        "LMS_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "LMS_DATABASE_URL": url,
        "LMS_COOKIE_SECURE": "0",
        "LMS_SCREENING_KEY": Fernet.generate_key().decode(),
        "LMS_PUBLIC_URL": "http://127.0.0.1",
        "LMS_BENCH_INSTANCE": str(workdir / "instance"),
        "PYTHONPATH": str(ROOT),
    }
    if os.environ.get("BENCH_QUEUE") == "redis":
        # One Redis database per population, so the two consumers never take each other's jobs.
        env["LMS_QUEUE_URL"] = os.environ.get(
            "BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{(hash(workdir) % 8) + 8}"
        )
    return env


def flask_command(*args: str) -> list[str]:
    """`flask --app bench.app:create_app ARGS` with the venv's flask."""
    return [str(Path(sys.executable).with_name("flask")), "--app", APP, *args]


def lists_command(help_text: str, name: str) -> bool:
    """True when a click group's --help output lists the command `name`."""
    section = help_text.split("Commands:", 1)
    pattern = rf"^\s+{re.escape(name)}(\s|$)"
    return len(section) == 2 and re.search(pattern, section[1], re.M) is not None


def has_command(env: dict[str, str], group: Sequence[str], name: str) -> bool:
    """Does `flask lms GROUP...` have the command `name` in this tracker?"""
    found = subprocess.run(
        flask_command(*group, "--help"),
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    return found.returncode == 0 and bool(lists_command(found.stdout, name))


@dataclass
class Deck:
    """Minted session cookies handed out in order, so each request is a different person."""

    cookies: list[str]
    offset: int = 0
    served: int = 0

    def take(self, count: int) -> list[str]:
        """The next `count` cookies (wrapping round when the deck is shorter)."""
        size = len(self.cookies)
        picked = [self.cookies[(self.offset + i) % size] for i in range(count)]
        self.offset = (self.offset + count) % size
        self.served += count
        return picked

    @property
    def distinct(self) -> int:
        """How many different people have been served so far."""
        return min(self.served, len(self.cookies))


@dataclass
class Population:
    """One prepared database: its settings, what it holds, how long it took."""

    size: int
    url: str
    env: dict[str, str]
    workdir: Path
    summary: str
    build_s: float
    rebuild_s: float | None
    vacuum_s: float | None
    deck: Deck
    fresh_ids: list[int]
    training_build_s: float = 0.0
    training_rebuild_s: float = 0.0
    training_summary: str = ""
    port: int = 0
    server_pid: int = 0
    measures: dict[str, list[float]] = field(default_factory=dict)

    def record(self, key: str, value: float) -> None:
        """Keep one measurement."""
        self.measures.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        """The median of a kept measurement."""
        return statistics.median(self.measures[key])

    def spread(self, key: str) -> str:
        """min-max of a kept measurement, for the table."""
        values = self.measures[key]
        return f"{min(values):.3g}-{max(values):.3g}"


def settle_statistics(kind_url: str) -> float | None:
    """On PostgreSQL, VACUUM (ANALYZE) the freshly built tables; seconds taken (None on SQLite).

    A database that has served a programme for years has planner statistics and visibility
    maps, which autovacuum keeps (on by default; this machine's test server runs with it off).
    Just bulk-loaded and rebuilt, it has neither: the planner guesses row counts (the eligible
    roster filter took a hash join over 41,000 rows, 260 ms) and index-only scans visit the
    heap. SQLite's planner keeps no statistics unless ANALYZE is run, which the tracker never
    does, so nothing is done there.
    """
    if make_url(kind_url).get_backend_name() != "postgresql":
        return None
    from lms.db import Base

    started = time.perf_counter()
    engine = create_engine(kind_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f'VACUUM (ANALYZE) "{table.name}"'))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def prepare(kind_url: str, workdir: Path, size: int, cookies: int) -> Population:
    """Migrate, load the catalogue, the instructor, the population; rebuild; mint cookies."""
    from bench.app import create_app
    from bench.population import insert_population
    from bench.sessions import mint_cookies
    from bench.training import insert_training, rebuild_standings
    from bench.training import queue_counts as training_queue_counts
    from lms.auth import services as auth_services
    from lms.auth.models import Role
    from lms.auth.passwords import hash_password
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog
    from lms.certificates.services import programme
    from lms.db import db
    from lms.migrate import upgrade

    workdir.mkdir(parents=True, exist_ok=True)
    env = server_environment(kind_url, workdir)
    engine = create_engine(kind_url)
    upgrade(engine)
    os.environ.update({k: v for k, v in env.items() if k.startswith("LMS_")})
    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # the app logs every PDF render at INFO
    with app.app_context():
        session = db.session
        load_catalog(session, DEFAULT_CATALOG)
        instructor = auth_services.create_user(
            session,
            email=INSTRUCTOR_EMAIL,
            name="Bench Instructor",
            password=PASSWORD,
            roles={Role.INSTRUCTOR},
            credentials="PsyD",
        )
        session.flush()
        instructor_id = instructor.id
        settings = programme(session)
        db.commit()
    started = time.perf_counter()
    with engine.connect() as conn:
        population = insert_population(
            conn,
            count=size,
            password_hash=hash_password(PASSWORD),
            instructor_id=instructor_id,
            settings=settings,
        )
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        training = insert_training(conn)
    training_build_s = time.perf_counter() - started
    rebuild_s = None
    if has_command(env, ["lms", "progress"], "rebuild"):
        started = time.perf_counter()
        subprocess.run(
            flask_command("lms", "progress", "rebuild"),
            env=env,
            cwd=ROOT,
            check=True,
            timeout=3600,
            stdout=subprocess.DEVNULL,
        )
        rebuild_s = time.perf_counter() - started
    training_rebuild_s = rebuild_standings(app)
    queues = training_queue_counts(kind_url)
    training_summary = (
        f"{training['candidates']:,} candidates, {training['consultations']:,} consultations, "
        f"{training['sessions']:,} sessions, {training['documents']:,} documents; "
        f"{queues['awaiting']:,} awaiting, {queues['met']:,} met, "
        f"{queues['windows']:,} windows open or closed"
    )
    vacuum_s = settle_statistics(kind_url)
    with engine.connect() as conn:
        people = conn.execute(
            text(
                "SELECT u.id, u.auth_token FROM users u JOIN user_roles r ON r.user_id = u.id "
                "WHERE r.role = 'clinician' ORDER BY u.id"
            )
        ).all()
    random.Random(size).shuffle(people)
    deck = Deck(mint_cookies(app, [(row[0], row[1]) for row in people[:cookies]]))
    app.extensions["lms"].db.engine.dispose()
    engine.dispose()
    return Population(
        size=size,
        url=kind_url,
        env=env,
        workdir=workdir,
        summary=population.describe(),
        build_s=build_s,
        rebuild_s=rebuild_s,
        vacuum_s=vacuum_s,
        deck=deck,
        fresh_ids=population.fresh_ids,
        training_build_s=training_build_s,
        training_rebuild_s=training_rebuild_s,
        training_summary=training_summary,
    )

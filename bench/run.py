"""`make bench`: two populations served by gunicorn on loopback, real traffic, the targets.

One run builds two fresh databases (SQLite in WAL mode in a temp dir, or throw-away schemas on
the local PostgreSQL with `--db postgresql`) with the default catalogue and 1,000 and 100,000
clinicians (1,000 and 5,000 with `--quick`) of bulk-inserted histories, one certificate row
per live completion; runs `flask lms progress rebuild` when the tracker has it; serves each
with gunicorn (2 workers, plus the job consumer when `flask lms jobs worker` exists); then
loads both in interleaved rounds: the dashboard of a DIFFERENT clinician on every request
(session cookies minted with the app's secret) against the bare route of the same server,
the roster, cohorts of 200 marked through the form, and 8 single-mark writers. The
certificates section (bench/certificates.py) adds its rows. Exits 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import ctypes.util
import importlib
import logging
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.app import BARE_PATH  # noqa: E402

PASSWORD = "bench password that is long enough"
INSTRUCTOR_EMAIL = "bench.instructor@bench.example"
APP = "bench.app:create_app"
DASHBOARD_PATH = "/"
DASHBOARD_MARKER = b'action="/logout"'  # only a signed-in page has the sign-out form
ROSTER_PAGE_PATH = "/roster"
# "Eligible for the Level 1 retreat but not yet applied", over everyone: the roster's
# heaviest filter, since it evaluates every clinician's rule.
ROSTER_PATH = "/roster?eligible=RETREAT-L1&applied=no"
COHORT_SIZE = 200
COHORT_ITEMS = ("M1", "M2", "M3", "M4")  # marked in turn for the same fresh cohort
WRITER_ITEM = "HTH"  # no prerequisite: any fresh clinician can be marked
WRITERS = 8
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

DASHBOARD_TARGET = 0.30  # dashboard throughput >= 30% of the bare route's, same server
DASHBOARD_SCALE_TARGET = 1.3  # dashboard latency at the big population <= 1.3x the small
ROSTER_TARGET_S = 0.150  # filtered roster median at the big population
ROSTER_SCALE_TARGET = 1.5  # roster latency big / small
COHORT_P95_TARGET_S = 1.5  # cohort POST response
COHORT_STORED_TARGET = 1.3  # all of a cohort's PDFs stored within 1.3x a bulk render
WRITER_P95_TARGET_S = 1.0
WRITER_RATE_TARGET = 60.0  # single marks per second, 8 writers
RSS_GROWTH_TARGET_MB = 50.0  # per gunicorn worker, across the distinct dashboards
_SERVED_PORTS: set[int] = set()  # handed out in this run (gunicorn binds a moment later)


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    name: str
    measured: str
    target: str
    ratio: str
    passed: bool | None  # None: shown for information, no target

    @property
    def verdict(self) -> str:
        """PASS, FAIL or a dash for informational rows."""
        return "-" if self.passed is None else ("PASS" if self.passed else "FAIL")


def missed(rows: Sequence[Row]) -> list[str]:
    """The names of the rows whose target was missed (informational rows never are)."""
    return [row.name for row in rows if row.passed is False]


def ratio_row(name: str, value: float, bound: float, *, most: bool, unit: str = "x") -> Row:
    """A row comparing a ratio with a bound: at most (`most`) or at least the bound."""
    sign = "<=" if most else ">="
    passed = value <= bound if most else value >= bound
    return Row(
        name, f"{value:.2f}{unit}", f"{sign} {bound:g}{unit}", f"{value / bound:.2f}", passed
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (defaults are the issue's figures; --quick for CI-sized runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="small populations and fewer requests (also BENCH_QUICK=1)",
    )
    parser.add_argument("--sizes", help="population sizes, small,big (default 1000,100000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, help="per round and route")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per load run")
    parser.add_argument("--roster-requests", type=int, help="per round, population and kind")
    parser.add_argument("--distinct", type=int, help="distinct dashboards before RSS is read")
    parser.add_argument("--cohorts", type=int, help="cohorts of 200 marked (at most 4)")
    parser.add_argument("--marks", type=int, help="single marks per writer and phase")
    parser.add_argument("--no-certificates", action="store_true", help="skip that section")
    parser.add_argument(
        "--ports",
        type=port_range,
        default=os.environ.get("BENCH_PORTS", ""),
        help="serve on the first free ports of FIRST-LAST (also BENCH_PORTS; default: any)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "sizes": "1000,5000" if quick else "1000,100000",
        "requests": 200 if quick else 500,
        "rounds": 3,
        "roster_requests": 5,  # a few ms each: enough that one slow moment is not the median
        "distinct": 1000 if quick else 5000,
        "cohorts": 3,  # the first with writers beside, the others alone
        "marks": 10 if quick else 25,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.sizes = [int(part) for part in str(args.sizes).split(",")]
    if len(args.sizes) != 2 or args.sizes[0] >= args.sizes[1]:
        parser.error("--sizes takes two sizes, small,big")
    args.cohorts = max(1, min(args.cohorts, len(COHORT_ITEMS)))
    return args


def port_range(text: str | None) -> range | None:
    """Parse `--ports` / BENCH_PORTS ("5300-5399", or one port); None or "" means any port."""
    if not text:
        return None
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ports as FIRST-LAST, not {text!r}") from None
    if not 1024 <= first <= last <= 65535:
        raise argparse.ArgumentTypeError(f"ports between 1024 and 65535, FIRST <= LAST: {text!r}")
    return range(first, last + 1)


def free_port(ports: range | None = None, taken: set[int] | None = None) -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now: any (the kernel's pick), or the
    first free one of `ports` not in `taken` (a machine shared by several benches)."""
    if ports is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for port in ports:
        if port in (taken or set()):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


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
    )


def wait_for_health(port: int, process: subprocess.Popen, log: Path) -> None:
    """Poll /healthz until the server answers (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        with suppress(OSError):
            if loadgen.request(port, "GET", "/healthz", timeout=2).status == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start; see {log}:\n{log.read_text()}")
        time.sleep(0.2)  # polling a starting server, not a test


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run a process (output to `log`) until the block ends, then stop it."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serve(
    population: Population, workers: int, stack: ExitStack, ports: range | None = None
) -> None:
    """gunicorn on a free port (of `ports` when given), and the job consumer beside it when
    the tracker has one; both stop when `stack` closes."""
    port = free_port(ports, taken=_SERVED_PORTS)
    _SERVED_PORTS.add(port)
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # Long enough that a slow cohort POST is measured, not killed (the default is 30 s).
        "--timeout",
        "180",
        "--log-level",
        "warning",
        f"{APP}()",
    ]
    log = population.workdir / "gunicorn.log"
    process = stack.enter_context(started(command, population.env, log))
    wait_for_health(port, process, log)
    population.port, population.server_pid = port, process.pid
    if has_command(population.env, ["lms", "jobs"], "worker"):
        worker = flask_command("lms", "jobs", "worker")
        help_text = subprocess.run(
            flask_command("lms", "jobs", "worker", "--help"),
            env=population.env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        ).stdout
        if "--workers" in help_text:
            # As many as the bulk render it is compared with has: the cores present.
            worker += ["--workers", str(os.cpu_count() or 1)]
        stack.enter_context(started(worker, population.env, population.workdir / "jobs.log"))
        population.env["BENCH_JOB_CONSUMER"] = "1"


def parse_vmrss_kb(status: str) -> int:
    """The VmRSS line of /proc/<pid>/status, in kB (0 when absent)."""
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.M)
    return int(match.group(1)) if match else 0


def worker_rss_mb(master_pid: int) -> dict[int, float]:
    """Resident memory of each child of the gunicorn master, in MB (Linux /proc)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = {}
    for pid in children:
        with suppress(OSError):
            sizes[int(pid)] = parse_vmrss_kb(Path(f"/proc/{pid}/status").read_text()) / 1024
    return sizes


def load_dashboards(population: Population, count: int, args: argparse.Namespace):  # noqa: ANN201
    """GET the dashboard `count` times, each with the next clinician's cookie."""
    return loadgen.run_load(
        population.port,
        DASHBOARD_PATH,
        cookies=population.deck.take(count),
        requests=count,
        concurrency=args.concurrency,
        time_cap=args.time_cap,
        expect=DASHBOARD_MARKER,
    )


def check(result: loadgen.LoadResult) -> loadgen.LoadResult:
    """Stop the bench when a read run had failures: its figures would mean nothing."""
    if result.errors:
        raise loadgen.BenchHTTPError(
            f"{result.errors} failed requests on {result.path}: {result.first_error}"
        )
    return result


def measure_reads(pops: list[Population], instructor: dict[int, str], args) -> None:  # noqa: ANN001
    """Interleaved rounds over both servers: bare, dashboards (different people), roster."""
    common = {"concurrency": args.concurrency, "time_cap": args.time_cap}
    for pop in pops:  # warm every worker: imports, templates, pools, the catalogue
        check(loadgen.run_load(pop.port, BARE_PATH, requests=100, **common))
        check(load_dashboards(pop, 100, args))
        for path in (ROSTER_PAGE_PATH, ROSTER_PATH):
            check(
                loadgen.run_load(pop.port, path, cookie=instructor[pop.port], requests=2, **common)
            )
    big = pops[-1]
    big.measures["rss_before"] = list(worker_rss_mb(big.server_pid).values())
    big.deck.served = 0  # the warm-up's people were served before the "before" figure
    for round_number in range(args.rounds):
        for pop in pops if round_number % 2 == 0 else pops[::-1]:
            bare = check(loadgen.run_load(pop.port, BARE_PATH, requests=args.requests, **common))
            dash = check(load_dashboards(pop, args.requests, args))
            pop.record("bare_rps", bare.throughput)
            pop.record("dash_rps", dash.throughput)
            pop.record("dash_s", dash.median_latency)
            for key, path in (("roster_page_s", ROSTER_PAGE_PATH), ("roster_s", ROSTER_PATH)):
                roster = check(
                    loadgen.run_load(
                        pop.port,
                        path,
                        cookie=instructor[pop.port],
                        requests=args.roster_requests,
                        concurrency=1,
                        time_cap=max(args.time_cap, 120.0),
                    )
                )
                pop.measures.setdefault(key, []).extend(roster.latencies)
    remaining = args.distinct - big.deck.distinct
    while remaining > 0:  # more distinct people, bounded by the deck and the count
        batch = min(remaining, 1000)
        check(load_dashboards(big, batch, args))
        remaining -= batch
    big.measures["rss_after"] = list(worker_rss_mb(big.server_pid).values())


def instructor_session(port: int) -> tuple[str, str]:
    """Sign the instructor in through the form; return the cookie and a form's CSRF token."""
    cookie = loadgen.sign_in(port, INSTRUCTOR_EMAIL, PASSWORD)
    page = loadgen.request(port, "GET", "/mark?q=no-such-person", cookie=cookie)
    if page.status != 200:
        raise loadgen.BenchHTTPError(f"GET /mark answered {page.status}")
    # Signing in gives a fresh CSRF secret, set with the first page that has a form: keep the
    # cookie that page sets, as a browser would.
    return loadgen.merge_cookies(cookie, page.set_cookies), loadgen.csrf_token(page.body)


def mark_day() -> str:
    """A completion date every check accepts: two days ago."""
    from lms.clock import today

    return (today() - timedelta(days=2)).isoformat()


def run_writers(
    port: int, cookie: str, token: str, people: list[int], args: argparse.Namespace
) -> loadgen.LoadResult:
    """8 writers, each POSTing the per-clinician mark form for its own clinicians."""
    day = mark_day()

    def call(index: int) -> loadgen.Call:
        """Mark the writer item for the index-th person."""
        fields = [("csrf_token", token), ("item_code", WRITER_ITEM), ("completed_on", day)]
        return loadgen.Call(
            "POST",
            f"/clinicians/{people[index]}/completions",
            cookie,
            loadgen.form_body([*fields, ("note", "bench single mark")]),
            "application/x-www-form-urlencoded",
        )

    return loadgen.run_calls(
        port,
        call,
        requests=len(people),
        concurrency=WRITERS,
        time_cap=args.time_cap * 2,
        ok_status=(302, 303),
        label="single marks",
    )


def post_cohort(port: int, cookie: str, token: str, item: str, people: list[int]):  # noqa: ANN201
    """POST the cohort form once (one thread); the bounded load helper does the timing."""
    fields = [("csrf_token", token), ("item_code", item), ("completed_on", mark_day())]
    fields += [("note", "bench cohort"), ("emails", "")]
    fields += [("user_id", str(uid)) for uid in people]
    body = loadgen.form_body(fields)
    return loadgen.run_calls(
        port,
        lambda _index: loadgen.Call(
            "POST", "/mark", cookie, body, "application/x-www-form-urlencoded"
        ),
        requests=1,
        concurrency=1,
        time_cap=1,
        ok_status=(302, 303),
        timeout=300,
        label=f"cohort {item}",
    )


def stored_pdfs(engine: Engine, item: str, people: list[int]) -> int:
    """How many of the cohort's live completions of `item` have their certificate's PDF."""
    from lms.catalog.models import CatalogItem
    from lms.certificates.models import Certificate
    from lms.progress.models import Completion

    statement = (
        select(func.count())
        .select_from(Certificate)
        .join(Completion, Completion.id == Certificate.completion_id)
        .join(CatalogItem, CatalogItem.id == Completion.item_id)
        .where(
            CatalogItem.code == item,
            Completion.revoked_at.is_(None),
            Completion.user_id.in_(people),
            Certificate.revoked_at.is_(None),
            Certificate.superseded_by_id.is_(None),
            Certificate.pdf.is_not(None),
        )
    )
    with engine.connect() as conn:
        return conn.scalar(statement) or 0


def wait_for_pdfs(engine: Engine, item: str, people: list[int], cap: float) -> float | None:
    """Seconds until every PDF of the cohort is stored (polled), None if not within `cap`."""
    started_at = time.perf_counter()
    while time.perf_counter() - started_at < cap:
        if stored_pdfs(engine, item, people) >= len(people):
            return time.perf_counter() - started_at
        time.sleep(0.1)  # polling the job consumer's progress, not a test
    return None


def pdfs_due(engine: Engine) -> int:
    """How many certificates are still waiting for their PDF (any person, any item)."""
    from lms.certificates.models import Certificate

    statement = (
        select(func.count())
        .select_from(Certificate)
        .where(Certificate.rendered_at.is_(None), Certificate.revoked_at.is_(None))
    )
    with engine.connect() as conn:
        return conn.scalar(statement) or 0


def wait_until_drained(engine: Engine, cap: float) -> bool:
    """Wait until the job consumer has stored every PDF due (polled); False if not within `cap`."""
    started_at = time.perf_counter()
    while time.perf_counter() - started_at < cap:
        if pdfs_due(engine) == 0:
            return True
        time.sleep(0.2)  # polling the job consumer's progress, not a test
    return False


def bulk_yardstick(kind: str, workdir: Path) -> Callable[[], float]:
    """A callable that times a bulk issue of a cohort's certificates on all cores, each time
    on a fresh database of the bench's kind (the stores the consumer makes go there too)."""
    from bench.certificates import bulk_render_seconds

    runs = iter(range(1, 100))

    def measure() -> float:
        """Seconds for one bulk render of COHORT_SIZE certificates."""
        folder = workdir / f"bulk{next(runs)}"
        folder.mkdir()
        print(f"   bulk render of {COHORT_SIZE} (the cohorts' yardstick)", flush=True)
        with fresh_database(kind, folder) as url:
            return bulk_render_seconds(COHORT_SIZE, url=url)

    return measure


def measure_writes(
    big: Population, args: argparse.Namespace, yardstick: Callable[[], float] | None = None
) -> None:
    """Writers alone; a cohort with writers beside it; further cohorts alone; PDFs stored.

    Before each cohort the queue is left to drain, so that a cohort's PDF time is its own
    certificates' (not those of the marks made before it): the cohort marked with writers
    beside it also waits for theirs, and is compared with a bulk render of all of them. The
    bulk render (`yardstick`) is timed before the cohorts marked alone and again after them,
    so that a change in a shared machine's load falls on both sides alike.
    """
    cookie, token = instructor_session(big.port)
    per_phase = WRITERS * args.marks
    needed = COHORT_SIZE + 2 * per_phase
    if len(big.fresh_ids) < needed:
        raise RuntimeError(f"{len(big.fresh_ids)} fresh clinicians, the writes need {needed}")
    cohort = big.fresh_ids[:COHORT_SIZE]
    alone = big.fresh_ids[COHORT_SIZE : COHORT_SIZE + per_phase]
    beside = big.fresh_ids[COHORT_SIZE + per_phase : needed]
    engine = create_engine(big.url)
    try:
        writers = run_writers(big.port, cookie, token, alone, args)
        big.measures["writers_alone"] = [writers.throughput, writers.errors]
        for number, item in enumerate(COHORT_ITEMS[: args.cohorts]):
            if not wait_until_drained(engine, cap=300):
                big.record("cohort_pdfs_missing", 1)
            if number == 1 and yardstick is not None:
                big.record("bulk_200", yardstick())
            holder: dict[str, loadgen.LoadResult] = {}
            posting = threading.Thread(
                target=lambda item=item, holder=holder: holder.update(
                    cohort=post_cohort(big.port, cookie, token, item, cohort)
                )
            )
            start = time.perf_counter()
            posting.start()
            if number == 0:
                during = run_writers(big.port, cookie, token, beside, args)
                big.measures["writers_during"] = [during.errors, during.p95_latency]
                big.measures["writers_during_first_error"] = [during.first_error]  # type: ignore[list-item]
                big.measures["beside_marks"] = [len(beside) - during.errors]
            posting.join(400)
            result = holder.get("cohort")
            if result is None or result.errors or not result.latencies:
                # A failed cohort is a result (say, a lock timeout), not a reason to stop.
                big.record("cohort_s", float("inf"))
                big.measures["cohort_error"] = [result.first_error if result else "no answer"]  # type: ignore[list-item]
                continue
            big.record("cohort_s", result.latencies[0])
            if wait_for_pdfs(engine, item, cohort, cap=300) is None:
                big.record("cohort_pdfs_missing", 1)
                continue
            if number == 0:  # and the writers' PDFs too
                if not wait_until_drained(engine, cap=300):
                    big.record("cohort_pdfs_missing", 1)
                    continue
                big.record("cohort_pdfs_beside_s", time.perf_counter() - start)
            else:
                big.record("cohort_pdfs_s", time.perf_counter() - start)
        if yardstick is not None:
            big.record("bulk_200", yardstick())
    finally:
        engine.dispose()


def read_rows(small: Population, big: Population) -> list[Row]:
    """The dashboard and roster rows, from the same run's interleaved rounds."""
    bare, dash = big.median("bare_rps"), big.median("dash_rps")
    dash_scale = big.median("dash_s") / small.median("dash_s")
    roster = big.median("roster_s")
    page_scale = big.median("roster_page_s") / small.median("roster_page_s")
    filter_scale = roster / small.median("roster_s")
    n_big, n_small = f"{big.size:,}", f"{small.size:,}"
    return [
        Row(
            f"bare route (SELECT 1) at {n_big}",
            f"{bare:.0f} req/s",
            "(yardstick)",
            f"{big.spread('bare_rps')} req/s",
            None,
        ),
        Row(
            f"dashboard, different clinician each request, at {n_big}",
            f"{dash:.0f} req/s",
            f">= {DASHBOARD_TARGET:.2f} of bare",
            f"{dash / bare:.2f} of bare",
            dash / bare >= DASHBOARD_TARGET,
        ),
        ratio_row(
            f"dashboard latency {n_big} vs {n_small} "
            f"({big.median('dash_s') * 1000:.0f} vs {small.median('dash_s') * 1000:.0f} ms)",
            dash_scale,
            DASHBOARD_SCALE_TARGET,
            most=True,
        ),
        Row(
            f"roster filtered at {n_big}, median of {len(big.measures['roster_s'])}",
            f"{roster * 1000:.0f} ms",
            f"< {ROSTER_TARGET_S * 1000:.0f} ms",
            f"{roster / ROSTER_TARGET_S:.2f} of target",
            roster < ROSTER_TARGET_S,
        ),
        ratio_row(
            f"roster page 1 {n_big} vs {n_small} ({big.median('roster_page_s') * 1000:.0f} vs "
            f"{small.median('roster_page_s') * 1000:.0f} ms)",
            page_scale,
            ROSTER_SCALE_TARGET,
            most=True,
        ),
        ratio_row(
            f"roster filtered {n_big} vs {n_small} ({roster * 1000:.0f} vs "
            f"{small.median('roster_s') * 1000:.0f} ms)",
            filter_scale,
            ROSTER_SCALE_TARGET,
            most=True,
        ),
    ]


def write_rows(big: Population, bulk_200: float | None, args: argparse.Namespace) -> list[Row]:
    """The cohort, writer and memory rows."""
    m = big.measures
    cohort_p95 = loadgen.percentile(m["cohort_s"], 0.95)
    cohort_error = m.get("cohort_error", [""])[0]
    rows = [
        Row(
            f"cohort of {COHORT_SIZE} through the form, p95 of {len(m['cohort_s'])}",
            f"{cohort_p95:.2f} s" + (f" ({cohort_error})" if cohort_error else ""),
            f"< {COHORT_P95_TARGET_S} s",
            f"{cohort_p95 / COHORT_P95_TARGET_S:.2f} of target",
            cohort_p95 < COHORT_P95_TARGET_S,
        )
    ]
    consumer = big.env.get("BENCH_JOB_CONSUMER") == "1"
    stored = statistics.median(m["cohort_pdfs_s"]) if m.get("cohort_pdfs_s") else None
    name = f"cohort of {COHORT_SIZE} alone: all PDFs stored vs bulk render of {COHORT_SIZE}"
    if m.get("cohort_pdfs_missing"):
        rows.append(Row(name, "not all stored in 300 s", f"<= {COHORT_STORED_TARGET}x", "", False))
    elif stored is None:
        rows.append(Row(name, "no cohort marked alone", "(needs --cohorts 2 or more)", "", False))
    elif bulk_200 is None:
        rows.append(Row(name, f"{stored:.1f} s", "(needs the certificates section)", "", None))
    else:
        ratio = stored / bulk_200
        rows.append(
            Row(
                f"{name}, median of {len(m['cohort_pdfs_s'])}",
                f"{stored:.1f} vs {bulk_200:.1f} s ({big.spread('bulk_200')} s)"
                + ("" if consumer else " (in the request: no job queue)"),
                f"<= {COHORT_STORED_TARGET}x, by the job consumer",
                f"{ratio:.2f}x",
                consumer and ratio <= COHORT_STORED_TARGET,
            )
        )
    if m.get("cohort_pdfs_beside_s") and bulk_200 is not None:
        beside = m["cohort_pdfs_beside_s"][0]
        count = COHORT_SIZE + int(m["beside_marks"][0])
        yardstick = bulk_200 * count / COHORT_SIZE
        rows.append(
            Row(
                f"cohort of {COHORT_SIZE} with the writers beside: all {count} PDFs stored",
                f"{beside:.1f} vs {yardstick:.1f} s",
                f"(bulk render of {COHORT_SIZE}, scaled to {count})",
                f"{beside / yardstick:.2f}x",
                None,
            )
        )
    errors, p95 = m["writers_during"]
    first = m["writers_during_first_error"][0]
    rows.append(
        Row(
            f"{WRITERS} single-mark writers during a cohort ({WRITERS * args.marks} marks)",
            f"{errors:.0f} errors, p95 {p95:.2f} s" + (f" ({first})" if first else ""),
            f"0 errors, p95 < {WRITER_P95_TARGET_S:g} s",
            "",
            errors == 0 and p95 < WRITER_P95_TARGET_S,
        )
    )
    rate, alone_errors = m["writers_alone"]
    rows.append(
        Row(
            f"single marks, {WRITERS} writers, throughput",
            f"{rate:.1f}/s" + (f", {alone_errors:.0f} errors" if alone_errors else ""),
            f">= {WRITER_RATE_TARGET:.0f}/s",
            f"{rate / WRITER_RATE_TARGET:.2f} of target",
            rate >= WRITER_RATE_TARGET and alone_errors == 0,
        )
    )
    before, after = m["rss_before"], m["rss_after"]
    growth = max(after) - max(before) if before and after else float("inf")
    rows.append(
        Row(
            f"gunicorn worker RSS after {big.deck.distinct:,} distinct dashboards",
            f"{max(before):.0f} -> {max(after):.0f} MB (largest worker)",
            f"growth < {RSS_GROWTH_TARGET_MB:.0f} MB",
            f"{growth:+.0f} MB",
            growth < RSS_GROWTH_TARGET_MB,
        )
    )
    return rows


def build_rows(pops: list[Population]) -> list[Row]:
    """How long building each population (and rebuilding the read model) took."""
    rows = []
    for pop in pops:
        rows.append(
            Row(f"build {pop.size:,} clinicians (bulk SQL)", f"{pop.build_s:.1f} s", "", "", None)
        )
        rebuilt = "no such command" if pop.rebuild_s is None else f"{pop.rebuild_s:.1f} s"
        rows.append(Row(f"`lms progress rebuild` at {pop.size:,}", rebuilt, "", "", None))
        if pop.vacuum_s is not None:
            rows.append(
                Row(f"VACUUM (ANALYZE) at {pop.size:,}", f"{pop.vacuum_s:.1f} s", "", "", None)
            )
    return rows


def certificate_rows(bulk_count: int) -> list[Row]:
    """The certificates engineer's section (bench/certificates.py results()), when present."""
    try:
        module = importlib.import_module("bench.certificates")
    except ModuleNotFoundError as error:
        if error.name != "bench.certificates":
            raise
        print("(bench/certificates.py not present: certificates section skipped)")
        return []
    return [to_row(entry) for entry in module.results(bulk_count)]


def to_row(entry: object) -> Row:
    """Accept a mapping, an object with attributes, or a (name, measured, target, ratio, passed);
    a `passed` of None is an informational row."""
    if isinstance(entry, Row):
        return entry
    if isinstance(entry, tuple | list):
        name, measured, target, ratio, passed = entry
    else:

        def get(key: str, *aliases: str) -> object:
            """Read a field under any of its names."""
            for k in (key, *aliases):
                if isinstance(entry, dict) and k in entry:
                    return entry[k]
                if hasattr(entry, k):
                    return getattr(entry, k)
            return ""

        name, measured, target = get("name"), get("measured"), get("target")
        ratio, passed = get("ratio"), get("passed", "ok", "pass_", "met")
    ratio_text = f"{ratio:.2f}" if isinstance(ratio, float) else str(ratio or "")
    # None (or a missing field) marks an informational row, never a failure.
    verdict = None if passed is None or passed == "" else bool(passed)
    return Row(str(name), str(measured), str(target), ratio_text, verdict)


def print_table(rows: list[Row], title: str) -> None:
    """One aligned table: name, measured, target, ratio, pass/fail."""
    header = Row("benchmark", "measured", "target", "ratio", None)
    columns = list(
        zip(*[(r.name, r.measured, r.target, r.ratio) for r in [header, *rows]], strict=True)
    )
    widths = [max(len(cell) for cell in column) for column in columns]
    print(f"\n{title}")
    for index, row in enumerate([header, *rows]):
        cells = (row.name, row.measured, row.target, row.ratio)
        verdict = "result" if index == 0 else row.verdict
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + verdict)
        if index == 0:
            print("  ".join("-" * w for w in widths) + "  ------")


def main(argv: list[str] | None = None) -> int:
    """Run the whole benchmark; 0 when every target is met."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    began = time.perf_counter()
    mode = "quick" if args.quick else "full"
    print(f"== {mode} bench on {args.db}, populations {args.sizes}, workdir {workdir}")
    if ctypes.util.find_library("harfbuzz-subset") is None:
        # `make test` installs it (chromium depends on it too); a bench run before that
        # measures WeasyPrint's fontTools fallback, about four times slower per certificate.
        print(
            "   note: no HarfBuzz-Subset library (Debian: libharfbuzz-subset0), so WeasyPrint "
            "subsets fonts with fontTools: certificate rows are slower than a server's"
        )
    try:
        with ExitStack() as stack:
            pops = []
            for size in args.sizes:
                folder = workdir / f"p{size}"
                folder.mkdir()
                url = stack.enter_context(fresh_database(args.db, folder))
                print(f"== building {size:,} clinicians ...", flush=True)
                pop = prepare(url, folder, size, cookies=min(size, max(args.distinct, 1000)))
                print(f"   {pop.summary}")
                print(f"   bulk insert {pop.build_s:.1f} s", end="")
                if pop.rebuild_s is not None:
                    print(f", `lms progress rebuild` {pop.rebuild_s:.1f} s", end="")
                if pop.vacuum_s is not None:
                    print(f", VACUUM (ANALYZE) {pop.vacuum_s:.1f} s", end="")
                print(flush=True)
                pops.append(pop)
            for pop in pops:
                serve(pop, args.workers, stack, args.ports)
                consumer = "with" if pop.env.get("BENCH_JOB_CONSUMER") else "without"
                print(
                    f"== gunicorn ({args.workers} workers) for {pop.size:,} on :{pop.port}, "
                    f"{consumer} a job consumer",
                    flush=True,
                )
            instructor = {pop.port: instructor_session(pop.port)[0] for pop in pops}
            print("== reads: interleaved rounds", flush=True)
            measure_reads(pops, instructor, args)
            print("== writes: single marks, cohorts", flush=True)
            yardstick = None if args.no_certificates else bulk_yardstick(args.db, workdir)
            measure_writes(pops[-1], args, yardstick)
            rows = read_rows(pops[0], pops[-1])
            big = pops[-1]
            bulk = big.measures.get("bulk_200")
            bulk_200 = statistics.median(bulk) if bulk else None
        extra: list[Row] = []
        if not args.no_certificates:
            print("== certificates", flush=True)
            extra = certificate_rows(100 if args.quick else 500)
        rows += write_rows(big, bulk_200, args)
        rows += build_rows(pops) + extra
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cores = os.cpu_count() or 1
    took = (time.perf_counter() - began) / 60
    print_table(rows, f"Results ({args.db}, {mode}, {cores} cores, one run, {took:.1f} min):")
    failed = missed(rows)
    if failed:
        print(f"\nMISSED: {', '.join(failed)}")
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

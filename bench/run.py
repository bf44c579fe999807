"""`make bench`: serve the tracker with gunicorn on loopback, load it, compare with the targets.

One run: a fresh database (SQLite in WAL mode in a temp dir, or a throw-away schema on the
local PostgreSQL with `--db postgresql`), the default catalogue, 2,000 clinicians with
realistic histories, then a bounded load on the dashboard and on the bench-only bare route
(`SELECT 1`) of the same server, interleaved in rounds so that drift hits both alike, and
the median latency of the roster filtered over everyone. The certificates section
(bench/certificates.py) adds its rows when present. Exits 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.app import BARE_PATH  # noqa: E402

PASSWORD = "bench password that is long enough"
CLINICIAN_EMAIL = "measured.clinician@bench.example"
INSTRUCTOR_EMAIL = "bench.instructor@bench.example"
# "Eligible for the Level 1 retreat but not yet applied", over everyone: the roster's
# heaviest filter, since it evaluates every clinician's rule.
ROSTER_PATH = "/roster?eligible=RETREAT-L1&applied=no"
DASHBOARD_PATH = "/"
DASHBOARD_TARGET = 0.30  # dashboard throughput >= 30% of the bare route's
ROSTER_TARGET_S = 0.300  # filtered roster median < 300 ms
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (defaults are the issue's figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clinicians", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=600, help="per round and route")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds per round")
    parser.add_argument("--roster-requests", type=int, default=25)
    parser.add_argument("--no-certificates", action="store_true", help="skip that section")
    return parser.parse_args(argv)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """The LMS_* settings the bench server runs with (production mode, plain-HTTP cookies)."""
    return {
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


def prepare(url: str, env: dict[str, str], clinicians: int) -> str:
    """Migrate, load the catalogue, create the measured people and the population."""
    from bench.app import create_app
    from bench.population import insert_population
    from lms.auth import services as auth_services
    from lms.auth.models import Role
    from lms.auth.passwords import hash_password
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog
    from lms.db import db
    from lms.migrate import upgrade
    from lms.progress.models import CompletionSource
    from lms.progress.services import record_completion

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    os.environ.update({k: v for k, v in env.items() if k.startswith(("LMS_",))})
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
        measured = auth_services.create_user(
            session,
            email=CLINICIAN_EMAIL,
            name="Lori Fox",
            password=PASSWORD,
            credentials="PMHNP",
            licence=auth_services.Licence(
                pre_licensed=False,
                type="APRN",
                number="NP-0042137",
                state="OR",
                expires_on=date(2028, 6, 30),
            ),
            licence_verified=True,
        )
        session.flush()
        # The measured clinician goes through the real services, so their dashboard has
        # what a real one has: completions, unlocks, issued certificates, audit events.
        history = [
            ("M1", date(2024, 2, 10)),
            ("M2", date(2024, 3, 16)),
            ("M3", date(2024, 4, 20)),
            ("M4", date(2024, 5, 18)),
            ("M5", date(2024, 6, 22)),
            ("HTH", date(2024, 7, 12)),
            ("MUSIC", date(2024, 8, 9)),
        ]
        for code, day in history:
            record_completion(
                session,
                user_id=measured.id,
                item_code=code,
                completed_on=day,
                source=CompletionSource.INSTRUCTOR,
                actor_id=instructor.id,
            )
        record_completion(
            session,
            user_id=measured.id,
            item_code="RETREAT-L1",
            completed_on=date(2024, 9, 8),
            source=CompletionSource.ATTENDANCE,
            actor_id=instructor.id,
        )
        started = time.perf_counter()
        population = insert_population(
            session,
            count=clinicians,
            password_hash=hash_password(PASSWORD),
            instructor_id=instructor.id,
        )
        db.commit()
        took = time.perf_counter() - started
    app.extensions["lms"].db.engine.dispose()
    return (
        f"{population.clinicians} clinicians, {population.completions} completions, "
        f"{population.equivalencies} equivalency requests, {population.applications} "
        f"applications (bulk insert {took:.1f} s)"
    )


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[None]:
    """Serve bench.app with gunicorn on 127.0.0.1:port until the block ends."""
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn_bin),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--chdir",
        str(ROOT),
        "--log-level",
        "warning",
        "bench.app:create_app()",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                with suppress(OSError):
                    if loadgen.request(port, "GET", "/healthz", timeout=2).status == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}:\n{log.read_text()}")
                time.sleep(0.2)  # polling a starting server, not a test
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(port: int, args: argparse.Namespace) -> list[Row]:
    """Sign in, then measure dashboard vs bare throughput and the filtered roster latency."""
    clinician = loadgen.sign_in(port, CLINICIAN_EMAIL, PASSWORD)
    instructor = loadgen.sign_in(port, INSTRUCTOR_EMAIL, PASSWORD)
    dashboard_marker = b"Lori Fox"
    check = loadgen.request(port, "GET", DASHBOARD_PATH, cookie=clinician)
    if check.status != 200 or dashboard_marker not in check.body:
        raise loadgen.BenchHTTPError(f"dashboard answered {check.status} without the name")
    roster_check = loadgen.request(port, "GET", ROSTER_PATH, cookie=instructor)
    if roster_check.status != 200:
        raise loadgen.BenchHTTPError(f"roster answered {roster_check.status}")

    common = {"concurrency": args.concurrency, "time_cap": args.time_cap}
    # Warm both routes (imports, template compilation, connection pools) in every worker.
    loadgen.run_load(port, BARE_PATH, requests=100, **common)
    loadgen.run_load(port, DASHBOARD_PATH, cookie=clinician, requests=100, **common)

    bare, signed_in, dashboard = [], [], []
    for _ in range(args.rounds):
        bare.append(loadgen.run_load(port, BARE_PATH, requests=args.requests, **common))
        # The same bare route with the clinician's cookie: what being signed in costs alone.
        signed_in.append(
            loadgen.run_load(port, BARE_PATH, cookie=clinician, requests=args.requests, **common)
        )
        dashboard.append(
            loadgen.run_load(
                port,
                DASHBOARD_PATH,
                cookie=clinician,
                requests=args.requests,
                expect=dashboard_marker,
                **common,
            )
        )
    for result in bare + signed_in + dashboard:
        if result.errors:
            raise loadgen.BenchHTTPError(
                f"{result.errors} failed requests on {result.path}: {result.first_error}"
            )
    bare_rps = statistics.median(r.throughput for r in bare)
    dash_rps = statistics.median(r.throughput for r in dashboard)
    signed_in_rps = statistics.median(r.throughput for r in signed_in)

    roster = loadgen.run_load(
        port,
        ROSTER_PATH,
        cookie=instructor,
        requests=args.roster_requests,
        concurrency=1,
        time_cap=max(args.time_cap, 60.0),
    )
    if roster.errors:
        raise loadgen.BenchHTTPError(f"roster failed: {roster.first_error}")
    roster_rps = roster.throughput
    median = roster.median_latency
    return [
        Row("bare route (SELECT 1)", f"{bare_rps:.0f} req/s", "(yardstick)", "1.00", None),
        Row(
            "bare route, signed in (loads the user)",
            f"{signed_in_rps:.0f} req/s",
            "(information)",
            f"{signed_in_rps / bare_rps:.2f} of bare",
            None,
        ),
        Row(
            "dashboard throughput",
            f"{dash_rps:.0f} req/s",
            f">= {DASHBOARD_TARGET:.0%} of bare",
            f"{dash_rps / bare_rps:.2f} of bare",
            dash_rps / bare_rps >= DASHBOARD_TARGET,
        ),
        Row(
            f"roster filtered over {args.clinicians} (median)",
            f"{median * 1000:.0f} ms",
            f"< {ROSTER_TARGET_S * 1000:.0f} ms",
            f"{median / ROSTER_TARGET_S:.2f} of target",
            median < ROSTER_TARGET_S,
        ),
        Row(
            "roster throughput (1 client)",
            f"{roster_rps:.1f} req/s",
            "(information)",
            f"{roster_rps / bare_rps:.3f} of bare",
            None,
        ),
    ]


def certificate_rows() -> list[Row]:
    """The certificates engineer's section (bench/certificates.py results()), when present."""
    try:
        module = importlib.import_module("bench.certificates")
    except ModuleNotFoundError as error:
        if error.name != "bench.certificates":
            raise
        print("(bench/certificates.py not present: certificates section skipped)")
        return []
    return [to_row(entry) for entry in module.results()]


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
    try:
        with fresh_database(args.db, workdir) as url:
            env = server_environment(url, workdir)
            print(f"== preparing a fresh {args.db} database in {workdir}")
            print("   " + prepare(url, env, args.clinicians))
            port = free_port()
            print(f"== gunicorn, {args.workers} workers, on 127.0.0.1:{port}")
            with gunicorn(env, port, args.workers, workdir / "gunicorn.log"):
                rows = measure(port, args)
        if not args.no_certificates:
            rows += certificate_rows()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cores = os.cpu_count() or 1
    print_table(rows, f"Results ({args.db}, {cores} cores, one run):")
    failed = [r.name for r in rows if r.passed is False]
    if failed:
        print(f"\nMISSED: {', '.join(failed)}")
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

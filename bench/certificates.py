"""Certificate speed: issue vs bare WeasyPrint, download vs issue, bulk on all cores vs one.

Runs on its own (`.venv/bin/python bench/certificates.py`, exit 1 when a target is missed)
and as the certificates section of `make bench` (bench/run.py calls `results()`). Everything
happens in a throw-away SQLite database in a temp dir, through the real services and app.
`--sample docs/sample-certificate.png` renders the README's sample certificate instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/certificates.py` as well as `-m bench.certificates`
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from weasyprint import HTML  # noqa: E402

from lms import create_app  # noqa: E402
from lms.auth.models import Role, User, UserRole  # noqa: E402
from lms.auth.passwords import hash_password  # noqa: E402
from lms.catalog.services import DEFAULT_CATALOG, load_catalog  # noqa: E402
from lms.certificates import services  # noqa: E402
from lms.certificates.models import Certificate  # noqa: E402
from lms.certificates.render import DESIGN_ROOT, font_config, render_html  # noqa: E402
from lms.db import db, utcnow  # noqa: E402
from lms.demo.certificate_settings import ensure_signatories  # noqa: E402
from lms.migrate import upgrade  # noqa: E402
from lms.progress.models import Completion, CompletionSource  # noqa: E402
from lms.progress.services import record_completion  # noqa: E402

OVERHEAD_TARGET = 0.25  # issue through the app at most 25% slower than a bare render
DOWNLOAD_TARGET = 50.0  # a stored download at least 50x faster than an issue
BULK_TARGET = 1.6  # all cores at least 1.6x faster than one (on 2 cores)
BULK_COUNT = 500
ISSUE_ROUNDS = 25
DOWNLOAD_ROUNDS = 60
MODULES = ("M1", "M2", "M3", "M4", "M5", "M6", "M7", "HTH", "MUSIC", "ETHICS")
PASSWORD_HASH = hash_password("bench password that is long enough")


@contextmanager
def bench_app(workdir: Path, url: str | None = None) -> Iterator[Flask]:
    """A tracker app on a fresh, migrated database (SQLite in `workdir` unless `url` names an
    empty one) with the default catalogue."""
    url = url or f"sqlite:///{workdir / 'certificates.sqlite3'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "LMS_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough",
            "LMS_DATABASE_URL": url,
            "LMS_INSTANCE_PATH": str(workdir / "instance"),
            "LMS_PUBLIC_URL": "https://training.example.org",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        load_catalog(db.session, DEFAULT_CATALOG)
        # Certificates as the demo prints them: two signatories with signature images.
        ensure_signatories(db.session)
        db.commit()
    try:
        yield app
    finally:
        app.extensions["lms"].db.engine.dispose()


def add_clinicians(count: int, prefix: str) -> list[int]:
    """Insert licensed clinicians (bulk, no password hashing per person); return their ids."""
    users = []
    for n in range(count):
        user = User(
            email=f"{prefix}{n}@bench.example",
            name=f"Bench Clinician {prefix.upper()} {n:04d}",
            credentials="LCSW",
            password_hash=PASSWORD_HASH,
            licence_type="LCSW",
            licence_number=f"LC{n:05d}",
            licence_state="CA",
            licence_expires_on=date(2099, 1, 1),
            licence_verified_at=utcnow(),
            email_confirmed_at=utcnow(),
        )
        user.role_rows = [UserRole(role=Role.CLINICIAN)]
        users.append(user)
    db.session.add_all(users)
    db.session.flush()
    ids = [u.id for u in users]
    db.commit()
    return ids


def record_bulk(user_ids: list[int], per_person: int) -> list[int]:
    """Record completions without certificates (bulk=True), as an import does."""
    ids = []
    day = date(2025, 1, 6)
    for index, user_id in enumerate(user_ids):
        for code in MODULES[:per_person]:
            completion = record_completion(
                db.session,
                user_id=user_id,
                item_code=code,
                completed_on=day + timedelta(days=index % 200),
                source=CompletionSource.IMPORT,
                actor_id=None,
                bulk=True,
            )
            ids.append(completion.id)
    db.commit()
    return ids


def timed(action: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure_issue_and_download(app: Flask) -> tuple[float, float, float, float]:
    """Medians: issue seconds, bare render seconds, issue/bare per pair, download seconds."""
    from lms.badges import services as badges  # after the app has imported every model

    # A request context: the Open Badge's addresses are the app's URLs.
    with app.test_request_context():
        user_ids = add_clinicians(ISSUE_ROUNDS + 2, "issue")
        completion_ids = record_bulk(user_ids, 1)
        session = db.session
        # Warm up both paths (fonts, templates, first-query costs) before measuring.
        warm = session.get(Completion, completion_ids[0])
        certificate = services.issue_certificate(session, warm)
        db.commit()
        # The bare render draws the same certificate, signature images included.
        (printed,) = services.with_images(session, [certificate.content])
        html = render_html(certificate.design, printed)
        bare = HTML(string=html, base_url=str(DESIGN_ROOT) + os.sep)
        bare.write_pdf(font_config=font_config())

        issue_times, bare_times = [], []
        for completion_id in completion_ids[1 : ISSUE_ROUNDS + 1]:
            completion = session.get(Completion, completion_id)

            def issue(completion: Completion = completion) -> None:
                """Issue one certificate and commit, as a request does, then sign its Open
                Badge (what its first download does: the credential is signed on demand)."""
                issued = services.issue_certificate(session, completion)
                db.commit()
                badges.credential_for_code(session, issued.code)

            # Interleaved, so that drift in machine load hits both alike.
            issue_times.append(timed(issue))
            bare_times.append(
                timed(
                    lambda: HTML(string=html, base_url=str(DESIGN_ROOT) + os.sep).write_pdf(
                        font_config=font_config()
                    )
                )
            )
        owner_id = session.get(User, certificate.user_id).get_id()
        certificate_id = certificate.id

    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = owner_id
        flask_session["_fresh"] = True
    url = f"/certificates/{certificate_id}.pdf"
    assert client.get(url).status_code == 200
    download_times = []
    for _ in range(DOWNLOAD_ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        download_times.append(time.perf_counter() - start)
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    # Each issue is compared with the bare render right after it, so load drift cancels.
    ratio = statistics.median(i / b for i, b in zip(issue_times, bare_times, strict=True))
    return (
        statistics.median(issue_times),
        statistics.median(bare_times),
        ratio,
        statistics.median(download_times),
    )


def measure_bulk(app: Flask, count: int, cores: int, rounds: int = 5) -> tuple[float, float]:
    """Seconds to issue `count` due certificates on one core, and on all cores.

    The two are measured in alternating rounds (one core, then all cores, and again), so
    that a change in the machine's load during the run hits both alike. The all-cores time
    includes starting and warming its worker processes, as the command line pays it.
    """
    per_person = 4
    with app.app_context():
        user_ids = add_clinicians(-(-2 * count // per_person), "bulk")
        completion_ids = record_bulk(user_ids, per_person)[: 2 * count]
        size = -(-count // rounds)
        one_core_ids, all_core_ids = completion_ids[:count], completion_ids[count:]

        def run(ids: list[int], jobs: int, pool: Any = None) -> float:
            """Seconds to issue the certificates of `ids` with `jobs` processes."""
            start = time.perf_counter()
            report = services.issue_missing(
                db.session, commit=db.commit, completion_ids=ids, jobs=jobs, pool=pool
            )
            elapsed = time.perf_counter() - start
            assert report.issued == len(ids), report
            return elapsed

        start = time.perf_counter()
        pool = services.render_pool(cores)
        if pool is not None:
            list(pool.map(services.warm_worker, range(cores)))
        many = time.perf_counter() - start
        one = 0.0
        try:
            for index in range(0, count, size):
                one += run(one_core_ids[index : index + size], 1)
                many += run(all_core_ids[index : index + size], cores, pool)
        finally:
            if pool is not None:
                pool.shutdown()
        issued = db.session.scalars(
            select(Certificate.id).where(Certificate.completion_id.in_(completion_ids))
        ).all()
        assert len(issued) == len(completion_ids)
    return one, many


def bulk_render_seconds(count: int, cores: int | None = None, url: str | None = None) -> float:
    """Seconds to issue `count` due certificates on all cores, pool start-up included.

    The yardstick for `make bench`'s cohort row: how fast the certificates of a cohort could
    be stored at best on this machine, measured the way measure_bulk measures all cores, on
    the database `url` names (an empty one; SQLite in a temp dir by default), so that the
    stores the job consumer makes on PostgreSQL are compared with stores on PostgreSQL.
    """
    cores = cores or os.cpu_count() or 1
    per_person = 4
    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-bulk-"))
    try:
        with bench_app(workdir, url) as app, app.app_context():
            user_ids = add_clinicians(-(-count // per_person), "yard")
            completion_ids = record_bulk(user_ids, per_person)[:count]
            start = time.perf_counter()
            pool = services.render_pool(cores)
            try:
                if pool is not None:
                    list(pool.map(services.warm_worker, range(cores)))
                report = services.issue_missing(
                    db.session,
                    commit=db.commit,
                    completion_ids=completion_ids,
                    jobs=cores,
                    pool=pool,
                )
            finally:
                if pool is not None:
                    pool.shutdown()
            elapsed = time.perf_counter() - start
            assert report.issued == count, report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def results(bulk_count: int = BULK_COUNT) -> list[dict[str, Any]]:
    """Measure everything; one dict per line: name, value/measured, target, ratio, ok."""
    cores = os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-certificates-"))
    try:
        with bench_app(workdir) as app:
            issue, bare, ratio, download = measure_issue_and_download(app)
            one, many = measure_bulk(app, bulk_count, cores)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    overhead = ratio - 1
    download_speedup = issue / download
    bulk_speedup = one / many
    rows = [
        {
            "name": "certificate issue + Open Badge signed (service + DB + commit)",
            "measured": f"{issue * 1000:.0f} ms",
            "target": "(measured beside bare render)",
            "ratio": "",
            "ok": None,
        },
        {
            "name": "bare WeasyPrint render, same HTML",
            "measured": f"{bare * 1000:.0f} ms",
            "target": "(yardstick)",
            "ratio": "",
            "ok": None,
        },
        {
            "name": "issue overhead over bare render",
            "measured": f"{overhead:+.0%}",
            "target": f"<= {OVERHEAD_TARGET:.0%}",
            "ratio": f"{ratio:.2f}x bare",
            "ok": overhead <= OVERHEAD_TARGET,
        },
        {
            "name": "download stored certificate (app)",
            "measured": f"{download * 1000:.2f} ms",
            "target": f">= {DOWNLOAD_TARGET:.0f}x faster than issue",
            "ratio": f"{download_speedup:.0f}x",
            "ok": download_speedup >= DOWNLOAD_TARGET,
        },
        {
            "name": f"bulk issue {bulk_count}, 1 core",
            "measured": f"{one:.1f} s",
            "target": "(yardstick)",
            "ratio": f"{bulk_count / one:.1f}/s",
            "ok": None,
        },
        {
            "name": f"bulk issue {bulk_count}, {cores} cores",
            "measured": f"{many:.1f} s",
            "target": f">= {BULK_TARGET}x one core" if cores >= 2 else "(needs 2 cores)",
            "ratio": f"{bulk_speedup:.2f}x",
            "ok": bulk_speedup >= BULK_TARGET if cores >= 2 else None,
        },
    ]
    for row in rows:
        row["value"] = row["measured"]
        row["passed"] = row["ok"]
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """An aligned table of the results with a verdict per line."""
    header = {"name": "benchmark", "measured": "measured", "target": "target", "ratio": "ratio"}
    keys = ("name", "measured", "target", "ratio")
    widths = {k: max(len(str(r[k])) for r in [header, *rows]) for k in keys}
    print("  ".join(str(header[k]).ljust(widths[k]) for k in keys) + "  result")
    print("  ".join("-" * widths[k] for k in keys) + "  ------")
    for row in rows:
        verdict = "info" if row["ok"] is None else ("PASS" if row["ok"] else "FAIL")
        print("  ".join(str(row[k]).ljust(widths[k]) for k in keys) + "  " + verdict)


def write_sample(path: Path) -> None:
    """Render a sample module certificate (through the real services) to a PNG for the README."""
    workdir = Path(tempfile.mkdtemp(prefix="lms-sample-certificate-"))
    try:
        with bench_app(workdir) as app, app.app_context():
            user = User(
                email="sample@bench.example",
                name="Dr. Amelia Rosalind Hartwell",
                credentials="PsyD, LMFT",
                password_hash=PASSWORD_HASH,
                licence_type="LMFT",
                licence_number="LMFT 123456",
                licence_state="CA",
                licence_verified_at=utcnow(),
            )
            user.role_rows = [UserRole(role=Role.CLINICIAN)]
            db.session.add(user)
            db.session.flush()
            completion = record_completion(
                db.session,
                user_id=user.id,
                item_code="M1",
                completed_on=date(2025, 3, 14),
                source=CompletionSource.INSTRUCTOR,
                actor_id=None,
            )
            # Recording leaves the PDF to the render job: issue it here, at once.
            certificate = services.issue_certificate(db.session, completion)
            if certificate.pdf is None:
                raise RuntimeError("the sample certificate's PDF was not stored")
            pdf = workdir / "sample.pdf"
            pdf.write_bytes(certificate.pdf)
            db.commit()
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = workdir / "sample"
        subprocess.run(
            ["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(stem)], check=True
        )
        shutil.copyfile(stem.with_suffix(".png"), path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Run the certificate benchmarks and print the table; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=BULK_COUNT, help="certificates in bulk runs")
    parser.add_argument("--sample", type=Path, help="only write a sample certificate PNG here")
    args = parser.parse_args(argv)
    if args.sample:
        write_sample(args.sample)
        return 0
    rows = results(args.bulk)
    print(f"\nCertificates ({os.cpu_count() or 1} cores, SQLite, one run):")
    print_table(rows)
    missed = [row["name"] for row in rows if row["ok"] is False]
    if missed:
        print(f"\nMISSED: {', '.join(missed)}")
        return 1
    print("\nAll certificate targets met.")
    return 0


if __name__ == "__main__":
    # Leave without interpreter teardown, as render processes do (lms.certificates.renderers):
    # this process rendered PDFs itself, and WeasyPrint's finalisers can run against libraries
    # already unloaded at exit (a segmentation fault after the table is printed).
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

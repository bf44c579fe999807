"""The write measurements: cohorts of 200 marked through the form, 8 single-mark writers beside
them, and how long until every certificate PDF is stored."""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from bench import loadgen
from bench.prepare import Population, fresh_database
from bench.settings import (
    COHORT_ITEMS,
    COHORT_P95_TARGET_S,
    COHORT_SIZE,
    COHORT_STORED_TARGET,
    INSTRUCTOR_EMAIL,
    PASSWORD,
    RSS_GROWTH_TARGET_MB,
    WRITER_ITEM,
    WRITER_P95_TARGET_S,
    WRITER_RATE_TARGET,
    WRITERS,
)
from bench.table import Row


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

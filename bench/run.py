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
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

_CHECKOUT = str(Path(__file__).resolve().parent.parent)
if _CHECKOUT not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, _CHECKOUT)

from bench.prepare import Population, fresh_database, prepare  # noqa: E402
from bench.reads import measure_reads, read_rows  # noqa: E402
from bench.serving import port_range, serve  # noqa: E402
from bench.settings import COHORT_ITEMS  # noqa: E402
from bench.table import Row, missed, print_table, to_row  # noqa: E402
from bench.training import measure_queues, queue_rows  # noqa: E402
from bench.writes import bulk_yardstick, instructor_session, measure_writes, write_rows  # noqa: E402


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


def build_rows(pops: list[Population]) -> list[Row]:
    """How long building each population (and rebuilding the read model) took."""
    rows = []
    for pop in pops:
        rows.append(
            Row(f"build {pop.size:,} clinicians (bulk SQL)", f"{pop.build_s:.1f} s", "", "", None)
        )
        rebuilt = "no such command" if pop.rebuild_s is None else f"{pop.rebuild_s:.1f} s"
        rows.append(Row(f"`lms progress rebuild` at {pop.size:,}", rebuilt, "", "", None))
        rows.append(
            Row(
                f"training rows (20 log entries each), bulk SQL, at {pop.size:,}",
                f"{pop.training_build_s:.1f} s",
                "",
                "",
                None,
            )
        )
        rows.append(
            Row(
                f"training standings rebuild at {pop.size:,}",
                f"{pop.training_rebuild_s:.1f} s",
                "",
                "",
                None,
            )
        )
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
                print(f"   training: {pop.training_summary}")
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
            print("== training staff queues: interleaved rounds", flush=True)
            measure_queues(pops, instructor, args)
            print("== writes: single marks, cohorts", flush=True)
            yardstick = None if args.no_certificates else bulk_yardstick(args.db, workdir)
            measure_writes(pops[-1], args, yardstick)
            rows = read_rows(pops[0], pops[-1]) + queue_rows(pops[0], pops[-1])
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
    # Leave without interpreter teardown, as render processes do (lms.certificates.renderers):
    # this process rendered PDFs itself, and WeasyPrint's finalisers can run against libraries
    # already unloaded at exit (a segmentation fault after the table is printed).
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

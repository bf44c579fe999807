"""The read measurements: the dashboard of a different clinician each request against the
bare route, and the roster, in interleaved rounds over both populations."""

from __future__ import annotations

import argparse

from bench import loadgen
from bench.app import BARE_PATH
from bench.prepare import Population
from bench.serving import worker_rss_mb
from bench.settings import (
    DASHBOARD_MARKER,
    DASHBOARD_PATH,
    DASHBOARD_SCALE_TARGET,
    DASHBOARD_TARGET,
    ROSTER_PAGE_PATH,
    ROSTER_PATH,
    ROSTER_SCALE_TARGET,
    ROSTER_TARGET_S,
)
from bench.table import Row, ratio_row


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

"""Serving a population: gunicorn on a free port (and the job consumer beside it), its health,
its workers' memory."""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from bench import loadgen
from bench.prepare import Population, flask_command, has_command
from bench.settings import APP, ROOT

_SERVED_PORTS: set[int] = set()  # handed out in this run (gunicorn binds a moment later)


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

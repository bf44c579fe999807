"""The processes that render certificate PDFs: a pool on every core for batches and bulk
issues (each worker loads fonts and templates once), replaced when one breaks.

A render process must never run Python's teardown. WeasyPrint frees its Pango and fontconfig
objects through cffi finalisers (`g_object_unref`), and at interpreter exit cffi may unload
those libraries first: the finaliser then jumps into unmapped code (SIGSEGV, "error 14", at
the same offset every time). A forked worker ends with `os._exit` and never hit it; a spawned
one (chosen whenever the parent has a second thread) crashed on every exit. So every render
process leaves the same way, with `os._exit`, and dies with the process that started it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from lms.certificates import base


def _start_render_process(niceness: int = 0, parent: int | None = None) -> None:
    """Worker initialiser: Ctrl-C is the parent's to handle (it stops and keeps what it wrote);
    the worker dies with its parent however the parent ends (kill -9 included), leaves without
    Python's teardown, and, beside a consumer, steps back (`niceness`) so pages answer first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent if parent is not None else os.getppid())
    atexit.register(_leave_without_teardown)
    if niceness:
        os.nice(niceness)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux), and leave at once if
    the parent is already gone (it died between the fork and this line)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _leave_without_teardown() -> None:
    """The last exit handler of a render process: end it as a forked worker ends, before
    interpreter teardown can run WeasyPrint's finalisers against unloaded libraries."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(0)


def warm_worker(_index: int) -> int:
    """Load fonts and templates in a fresh worker, so the first batch does not wait for it."""
    from lms.certificates.render import font_config, jinja_env

    font_config()
    jinja_env()
    return os.getpid()


def render_job(job: tuple[str, dict[str, Any]]) -> bytes:
    """Render one certificate from its plain content in a worker process."""
    design, content = job
    return base.render_pdf(design, content)


def render_and_draw_job(job: tuple[str, dict[str, Any]]) -> tuple[bytes, bytes | None]:
    """Render one certificate and draw its public first-page picture, in a worker process
    (a bulk issue draws on every core instead of one after another in the parent)."""
    from lms.certificates import pictures

    design, content = job
    pdf = base.render_pdf(design, content)
    return pdf, pictures.draw_first_page(pdf, hidden=pictures.private_words(content))


def render_pool(jobs: int) -> Executor | None:
    """A pool of `jobs` rendering processes, or None to render in this process."""
    return render_processes(jobs) if jobs > 1 else None


def render_processes(count: int, *, niceness: int = 0) -> ProcessPoolExecutor:
    """`count` rendering processes (at `niceness` above this process's)."""
    # Forking starts workers in milliseconds instead of seconds (no re-import of WeasyPrint),
    # but it is only safe while this process has a single thread: another thread could hold
    # a lock at the moment of the fork. Workers never touch the inherited database handles.
    # Otherwise (a threaded host, a test runner) each worker starts a clean interpreter.
    method = "fork" if threads_in_process() == 1 and "fork" in get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=count,
        mp_context=get_context(method),
        initializer=_start_render_process,
        initargs=(niceness, os.getpid()),
    )


def threads_in_process() -> int:
    """This process's threads as the kernel counts them: Python's and those C libraries
    started (GLib, Pango), which `threading.active_count()` cannot see."""
    try:
        return max(len(os.listdir("/proc/self/task")), threading.active_count())
    except OSError:  # no /proc (not Linux)
        return threading.active_count()


# Where render jobs render: here, or (in the job consumer) on its pool of render processes.
_RENDERERS: dict[str, Any] = {}


def use_render_processes(count: int, *, niceness: int) -> ProcessPoolExecutor:
    """Make this process's render jobs render on `count` processes at `niceness`; return them.

    The job consumer runs its jobs in threads and renders here: the renders step back for
    pages (niced), while the short database writes around them run at normal priority, so a
    write never holds SQLite's lock while starved of CPU behind the web's processes.
    """
    pool = render_processes(count, niceness=niceness)
    list(pool.map(warm_worker, range(count)))
    _RENDERERS.update(pool=pool, count=count, niceness=niceness)
    return pool


def stop_render_processes() -> None:
    """Render in this process again, after the running renders finish."""
    pool = _RENDERERS.pop("pool", None)
    _RENDERERS.clear()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def render_each(work: list[tuple[str, dict[str, Any]]]) -> list[bytes | Exception]:
    """Each (design, content) rendered, in order: its PDF, or the error that stopped it."""
    pool = _RENDERERS.get("pool")
    if pool is None:
        results: list[bytes | Exception] = []
        for design, content in work:
            try:
                results.append(base.render_pdf(design, content))
            except Exception as error:
                results.append(error)
        return results
    results = _render_on(pool, work)
    broken = [i for i, result in enumerate(results) if isinstance(result, BrokenProcessPool)]
    if broken:
        # A renderer died (killed, out of memory): fresh ones take these renders once more
        # now, rather than leaving the batch to the sweep a minute later.
        _replace_broken_pool(pool)
        fresh = _RENDERERS.get("pool")
        if fresh is None:  # the consumer is stopping: the sweep takes them later
            return results
        again = _render_on(fresh, [work[i] for i in broken])
        for i, result in zip(broken, again, strict=True):
            results[i] = result
        if any(isinstance(result, BrokenProcessPool) for result in again):
            _replace_broken_pool(fresh)
    return results


def _render_on(pool: Executor, work: list[tuple[str, dict[str, Any]]]) -> list[bytes | Exception]:
    """Each job rendered on the pool: its PDF, or its error (BrokenProcessPool included)."""
    futures: list[Any] = []
    for job in work:
        try:
            futures.append(pool.submit(render_job, job))
        except BrokenProcessPool as error:  # the pool already knows a renderer died
            futures.append(error)
    results: list[bytes | Exception] = []
    for future in futures:
        if isinstance(future, Exception):
            results.append(future)
            continue
        try:
            results.append(future.result())
        except Exception as error:  # the render's own error, or BrokenProcessPool
            results.append(error)
    return results


def _replace_broken_pool(broken: Executor) -> None:
    """Swap a pool whose process died for a new one (once, however many jobs noticed)."""
    with _REPLACING:
        if _RENDERERS.get("pool") is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        count, niceness = _RENDERERS["count"], _RENDERERS["niceness"]
        _RENDERERS["pool"] = render_processes(count, niceness=niceness)


_REPLACING = threading.Lock()

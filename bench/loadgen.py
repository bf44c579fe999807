"""A small, bounded HTTP load generator for loopback benchmarks: threads plus http.client.

Every run has a fixed number of requests AND a time cap, so it always stops; it only ever
talks to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_CSRF_INPUT = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


class BenchHTTPError(RuntimeError):
    """The server answered something the benchmark did not expect."""


@dataclass
class Response:
    """What came back: status, headers (lower-cased names) and body."""

    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookie: str = "",
    body: bytes | None = None,
    content_type: str = "",
    timeout: float = 30.0,
) -> Response:
    """Send one request to 127.0.0.1:port on a fresh connection and read the whole answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Host": f"{HOST}:{port}", "Accept": "text/html"}
        if cookie:
            headers["Cookie"] = cookie
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        return Response(
            status=answer.status,
            headers={k.lower(): v for k, v in answer.getheaders()},
            set_cookies=answer.msg.get_all("Set-Cookie") or [],
            body=data,
        )
    finally:
        conn.close()


def _cookie_pairs(set_cookies: list[str]) -> dict[str, str]:
    """name -> value of each Set-Cookie header (attributes dropped)."""
    pairs = {}
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        pairs[name.strip()] = value.strip()
    return pairs


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through the real form (GET /login for the CSRF token, then POST) -> Cookie header."""
    page = request(port, "GET", "/login")
    if page.status != 200:
        raise BenchHTTPError(f"GET /login answered {page.status}")
    match = _CSRF_INPUT.search(page.body.decode("utf-8", "replace"))
    if match is None:
        raise BenchHTTPError("GET /login carried no csrf_token field")
    token = match.group(1) or match.group(2)
    jar = _cookie_pairs(page.set_cookies)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    answer = request(
        port,
        "POST",
        "/login",
        cookie="; ".join(f"{k}={v}" for k, v in jar.items()),
        body=form.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    if answer.status not in (302, 303):
        raise BenchHTTPError(f"sign-in as {email} answered {answer.status}, not a redirect")
    jar.update(_cookie_pairs(answer.set_cookies))
    return "; ".join(f"{k}={v}" for k, v in jar.items())


@dataclass
class LoadResult:
    """The outcome of one bounded load run."""

    path: str
    completed: int
    errors: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def median_latency(self) -> float:
        """Median seconds per successful request."""
        return statistics.median(self.latencies) if self.latencies else float("inf")


def run_load(
    port: int,
    path: str,
    *,
    cookie: str = "",
    requests: int,
    concurrency: int,
    time_cap: float,
    expect: bytes = b"",
) -> LoadResult:
    """GET `path` `requests` times from `concurrency` threads, stopping early at `time_cap` s.

    A request counts as successful when it answers 200 and (if given) contains `expect`, so a
    redirect to the sign-in page can never pass for a fast dashboard.
    """
    lock = threading.Lock()
    tickets = iter(range(requests))
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + time_cap

    def worker() -> None:
        """Take tickets until none are left or time is up."""
        while True:
            with lock:
                if next(tickets, None) is None or time.perf_counter() > deadline:
                    return
            started = time.perf_counter()
            try:
                answer = request(port, "GET", path, cookie=cookie)
                ok = answer.status == 200 and (not expect or expect in answer.body)
                problem = "" if ok else f"status {answer.status}"
            except OSError as error:  # connection refused/reset: count it, keep going
                ok, problem = False, repr(error)
            took = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors.append(problem)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_cap + 60)
    elapsed = time.perf_counter() - started
    return LoadResult(
        path=path,
        completed=len(latencies),
        errors=len(errors),
        elapsed=elapsed,
        latencies=latencies,
        first_error=errors[0] if errors else "",
    )

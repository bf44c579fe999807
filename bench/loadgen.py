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
from collections.abc import Callable, Sequence
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


def merge_cookies(cookie: str, set_cookies: list[str]) -> str:
    """A `Cookie:` header updated with what a response set (as a browser keeps cookies)."""
    jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
    jar.update(_cookie_pairs(set_cookies))
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through the real form (GET /login for the CSRF token, then POST) -> Cookie header."""
    page = request(port, "GET", "/login")
    if page.status != 200:
        raise BenchHTTPError(f"GET /login answered {page.status}")
    token = csrf_token(page.body)
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


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (linear between ranks); inf if empty."""
    if not values:
        return float("inf")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def form_body(fields: Sequence[tuple[str, str]]) -> bytes:
    """An application/x-www-form-urlencoded body (repeated names kept, as a form sends them)."""
    return urllib.parse.urlencode(list(fields)).encode()


def csrf_token(page: bytes) -> str:
    """The csrf_token field's value in an HTML page."""
    match = _CSRF_INPUT.search(page.decode("utf-8", "replace"))
    if match is None:
        raise BenchHTTPError("the page carried no csrf_token field")
    return match.group(1) or match.group(2)


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

    @property
    def p95_latency(self) -> float:
        """95th percentile of the seconds per successful request."""
        return percentile(self.latencies, 0.95)


@dataclass(frozen=True)
class Call:
    """One request of a load run."""

    method: str
    path: str
    cookie: str = ""
    body: bytes | None = None
    content_type: str = ""


def run_calls(
    port: int,
    calls: Callable[[int], Call],
    *,
    requests: int,
    concurrency: int,
    time_cap: float,
    ok_status: Sequence[int] = (200,),
    expect: bytes = b"",
    timeout: float = 30.0,
    label: str = "",
) -> LoadResult:
    """Send calls(0) .. calls(requests - 1) from `concurrency` threads, stopping at `time_cap` s.

    A request counts as successful when its status is in `ok_status` and (if given) its body
    contains `expect`; anything else, a refused connection included, is an error.
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
                ticket = next(tickets, None)
                if ticket is None or time.perf_counter() > deadline:
                    return
            call = calls(ticket)
            started = time.perf_counter()
            try:
                answer = request(
                    port,
                    call.method,
                    call.path,
                    cookie=call.cookie,
                    body=call.body,
                    content_type=call.content_type,
                    timeout=timeout,
                )
                ok = answer.status in ok_status and (not expect or expect in answer.body)
                problem = "" if ok else f"status {answer.status}"
            except OSError as error:  # connection refused/reset, timeout: count it, keep going
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
        thread.join(time_cap + timeout + 5)
    elapsed = time.perf_counter() - started
    return LoadResult(
        path=label or (calls(0).path if requests else ""),
        completed=len(latencies),
        errors=len(errors),
        elapsed=elapsed,
        latencies=latencies,
        first_error=errors[0] if errors else "",
    )


def run_load(
    port: int,
    path: str,
    *,
    cookie: str = "",
    cookies: Sequence[str] = (),
    requests: int,
    concurrency: int,
    time_cap: float,
    expect: bytes = b"",
) -> LoadResult:
    """GET `path` `requests` times from `concurrency` threads, stopping early at `time_cap` s.

    Request i carries cookies[i % len(cookies)] when `cookies` is given (one person each),
    else `cookie`. A request counts as successful when it answers 200 and (if given) contains
    `expect`, so a redirect to the sign-in page can never pass for a fast dashboard.
    """

    def call(index: int) -> Call:
        """The GET of ticket `index`."""
        return Call("GET", path, cookies[index % len(cookies)] if cookies else cookie)

    return run_calls(
        port,
        call,
        requests=requests,
        concurrency=concurrency,
        time_cap=time_cap,
        expect=expect,
        label=path,
    )

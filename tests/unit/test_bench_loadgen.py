"""The benchmark's load generator and result rows, against a tiny loopback HTTP server."""

from __future__ import annotations

import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# bench/ is the project's folder of benchmark scripts, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import loadgen  # noqa: E402
from bench.table import Row, to_row  # noqa: E402

TOKEN = "token-from-the-form"


class Handler(BaseHTTPRequestHandler):
    """`/ok` says ok, `/other` says something else, `/login` is a form with a CSRF token."""

    hits = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a complete response."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """Count every GET and answer it."""
        with Handler.lock:
            Handler.hits += 1
        if self.path == "/login":
            form = f'<form><input id="csrf_token" name="csrf_token" type="hidden" value="{TOKEN}">'
            self.answer(200, form.encode(), {"Set-Cookie": "session=anonymous; HttpOnly"})
        else:
            self.answer(200, b"ok" if self.path == "/ok" else b"something else")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        """Sign in only with the form's token and the cookie that came with it."""
        length = int(self.headers["Content-Length"])
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("csrf_token") == [TOKEN] and "session=anonymous" in self.headers["Cookie"]:
            self.answer(302, b"", {"Location": "/", "Set-Cookie": "session=signed-in; HttpOnly"})
        else:
            self.answer(400, b"bad token")


@pytest.fixture
def port() -> Iterator[int]:
    """A loopback server in a thread; yields its port."""
    Handler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_load_run_sends_exactly_the_fixed_number_of_requests(port: int) -> None:
    result = loadgen.run_load(port, "/ok", requests=25, concurrency=3, time_cap=60)
    assert (result.completed, result.errors, Handler.hits) == (25, 0, 25)
    assert result.throughput > 0 and result.median_latency > 0


def test_load_run_stops_at_its_time_cap(port: int) -> None:
    result = loadgen.run_load(port, "/ok", requests=1000, concurrency=2, time_cap=0)
    assert result.completed == 0 and Handler.hits == 0


def test_answer_without_the_expected_text_counts_as_an_error(port: int) -> None:
    result = loadgen.run_load(
        port, "/other", requests=5, concurrency=1, time_cap=60, expect=b"Dashboard"
    )
    assert (result.completed, result.errors) == (0, 5)
    assert result.first_error == "status 200"


def test_sign_in_posts_the_forms_csrf_token_and_keeps_the_new_session_cookie(port: int) -> None:
    cookie = loadgen.sign_in(port, "someone@example.org", "a long enough password")
    assert "session=signed-in" in cookie


def test_result_rows_without_a_verdict_stay_informational() -> None:
    info = to_row({"name": "bare render", "measured": "90 ms", "target": "", "ok": None})
    missed = to_row({"name": "overhead", "measured": "+40%", "target": "<= 25%", "ok": False})
    met = to_row(("download", "2 ms", ">= 50x", 80.0, True))
    assert [info.verdict, missed.verdict, met.verdict] == ["-", "FAIL", "PASS"]
    assert met.ratio == "80.00"
    assert isinstance(info, Row)


def test_per_request_cookies_are_handed_out_in_turn(port: int) -> None:
    seen: list[str] = []

    class Recording(Handler):
        """Remember the Cookie header of every GET."""

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            """Record, then answer as usual."""
            with Handler.lock:
                seen.append(self.headers.get("Cookie", ""))
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = loadgen.run_load(
            server.server_address[1],
            "/ok",
            cookies=["a=1", "a=2", "a=3"],
            requests=6,
            concurrency=2,
            time_cap=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.completed == 6
    assert sorted(seen) == ["a=1", "a=1", "a=2", "a=2", "a=3", "a=3"]


def test_posts_count_only_the_expected_redirect_as_success(port: int) -> None:
    def call(index: int) -> loadgen.Call:
        """A good sign-in POST for even tickets, a bad token for odd ones."""
        token = TOKEN if index % 2 == 0 else "forged"
        body = loadgen.form_body([("csrf_token", token)])
        return loadgen.Call(
            "POST", "/login", "session=anonymous", body, "application/x-www-form-urlencoded"
        )

    result = loadgen.run_calls(port, call, requests=4, concurrency=2, time_cap=60, ok_status=(302,))
    assert (result.completed, result.errors, result.first_error) == (2, 2, "status 400")


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([3.0], 0.95, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 1.0, 5.0),
        ([1.0, 2.0], 0.95, 1.95),
        ([10.0, 0.0], 0.0, 0.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], fraction: float, expected: float
) -> None:
    assert loadgen.percentile(values, fraction) == pytest.approx(expected)


def test_percentile_of_nothing_is_infinite_and_a_bad_fraction_is_refused() -> None:
    assert loadgen.percentile([], 0.95) == float("inf")
    with pytest.raises(ValueError, match="between 0 and 1"):
        loadgen.percentile([1.0], 95)


def test_csrf_token_is_read_in_either_attribute_order() -> None:
    first = b'<input name="csrf_token" type="hidden" value="abc">'
    second = b'<input value="def" type="hidden" name="csrf_token">'
    assert (loadgen.csrf_token(first), loadgen.csrf_token(second)) == ("abc", "def")
    with pytest.raises(loadgen.BenchHTTPError):
        loadgen.csrf_token(b"<form></form>")


def test_merged_cookies_keep_the_old_ones_and_take_what_a_response_set() -> None:
    merged = loadgen.merge_cookies(
        "session=old; other=1", ["session=new; HttpOnly; Path=/", "theme=dark; Path=/"]
    )
    assert merged == "session=new; other=1; theme=dark"

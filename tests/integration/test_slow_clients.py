"""Slow clients cannot stall the site: served as `make run` serves it (gunicorn, gthread
workers), four connections that announce a 100,000-byte upload and send three bytes leave
/healthz answering in under a second, and each of them gets 408 once its body is overdue."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mail_support import free_port

from lms.config import PROJECT_ROOT

BIN = Path(sys.executable).parent
BODY_TIMEOUT = 3  # seconds (LMS_BODY_TIMEOUT for this server)
SLOW_CLIENTS = 4


def _make_run_gunicorn(port: int) -> list[str]:
    """gunicorn's arguments as `make run` gives them (read from the Makefile's recipe)."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"\$\(BIN\)/gunicorn (.+?) wsgi:app", makefile, re.S).group(1)
    recipe = recipe.replace("\\\n", " ").replace("$(PORT)", str(port))
    recipe = recipe.replace("$(WORKERS)", "2").replace("$(THREADS)", "8")
    return recipe.split()


@pytest.fixture
def served(database_url, tmp_path):
    """gunicorn as `make run` starts it, on the test database; yields its base URL."""
    port = free_port()
    args = _make_run_gunicorn(port)
    assert "gthread" in args, "make run must serve with threads"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(
        LMS_ENV="development",
        LMS_SECRET_KEY="slow-clients-test-secret-key-long-enough",
        LMS_SCREENING_KEY="mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U=",
        LMS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LMS_DATABASE_URL=database_url,
        LMS_QUEUE_URL="immediate",
        LMS_BODY_TIMEOUT=str(BODY_TIMEOUT),
        LMS_RATELIMIT_STORAGE_URL=f"lms+sqlite://{tmp_path / 'ratelimit.sqlite3'}",
    )
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [BIN / "gunicorn", *args, "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def _slow_upload(port: int) -> socket.socket:
    """A connection that announces a 100,000-byte upload and sends three bytes of it."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(
        b"POST /verify/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\n"
        b"Content-Length: 100000\r\n\r\nabc"
    )
    return connection


def test_slow_uploads_neither_stall_the_site_nor_hold_it_for_long(served):
    port = served
    slow = [_slow_upload(port) for _ in range(SLOW_CLIENTS)]
    opened = time.monotonic()
    try:
        time.sleep(0.5)  # each is now inside a request, waiting for its body
        for _ in range(3):
            started = time.monotonic()
            with urllib.request.urlopen(  # noqa: S310 - loopback http
                f"http://127.0.0.1:{port}/healthz", timeout=10
            ) as response:
                assert response.status == 200
            assert time.monotonic() - started < 1.0
        answers = []
        for connection in slow:
            answers.append(connection.recv(4096).split(b"\r\n", 1)[0])
        waited = time.monotonic() - opened
    finally:
        for connection in slow:
            connection.close()
    assert answers == [b"HTTP/1.1 408 Request Timeout"] * SLOW_CLIENTS
    assert BODY_TIMEOUT - 0.5 < waited < BODY_TIMEOUT + 10


def test_a_whole_body_sent_slowly_but_in_time_is_served(served):
    """The bound is on the whole body, not on speed: a body that arrives in time is read."""
    port = served
    body = b"code=NOT-A-CODE"
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        connection.sendall(
            b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            connection.sendall(bytes([byte]))
            time.sleep(0.05)
        status = connection.recv(4096).split(b"\r\n", 1)[0]
    finally:
        connection.close()
    assert status != b"HTTP/1.1 408 Request Timeout" and status.startswith(b"HTTP/1.1 ")

"""A request body is read within a bound, before the app sees the request.

A client that announces `Content-Length: 100000` and sends three bytes used to hold a sync
gunicorn worker until its 30-second timeout killed it (two such clients stopped the site).
`make run` now serves with gthread workers, so a slow client holds one thread, not a worker;
and this middleware reads each body with a deadline (LMS_BODY_TIMEOUT seconds in all, and no
single wait longer than that), buffering it (in memory up to 1 MB, then in an owner-only
temporary file) before the app runs. A body not received in time gets 408 and the connection
is closed; nothing in the app ran, so nothing changed. A body over the request limit is left
to the app, which refuses it (413) without reading it.

A core module: WSGI only, no feature.
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

SPOOL_IN_MEMORY = 1024 * 1024
CHUNK = 64 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyTimeout(Exception):
    """The client did not send its request body within the bound."""


class BoundedBody:
    """WSGI middleware: read the whole request body within `timeout` seconds, or answer 408."""

    def __init__(self, app: WSGIApp, *, timeout: float, max_bytes: int) -> None:
        """Wrap `app`; bodies longer than `max_bytes` are left for the app to refuse."""
        self.app, self.timeout, self.max_bytes = app, timeout, max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Buffer the body (bounded), then call the app; 408 when the client is too slow."""
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if (length is None or length == 0) and not chunked:
            return self.app(environ, start_response)
        if length is not None and length > self.max_bytes:
            return self.app(environ, start_response)  # the app answers 413 unread
        try:
            body, size = self._read(environ, length)
        except BodyTimeout:
            return _timed_out(start_response)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        try:
            # The app has read what it needs once it returns (no view streams a response
            # that reads the request later), so the buffer goes now, whatever the server.
            return self.app(environ, start_response)
        finally:
            body.close()

    def _read(self, environ: dict[str, Any], length: int | None) -> tuple[Any, int]:
        """The body in a spooled file, rewound, and its size; BodyTimeout past the deadline."""
        stream = environ["wsgi.input"]
        sock: socket.socket | None = environ.get("gunicorn.socket")
        deadline = time.monotonic() + self.timeout
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        received = 0
        previous = sock.gettimeout() if sock is not None else None
        try:
            while length is None or received < length:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BodyTimeout
                if sock is not None:
                    sock.settimeout(remaining)
                want = CHUNK if length is None else min(CHUNK, length - received)
                try:
                    data = stream.read(want)
                except TimeoutError as error:
                    raise BodyTimeout from error
                if not data:
                    break  # the client ended early: the app sees what came (and refuses it)
                spool.write(data)
                received += len(data)
                if received > self.max_bytes:
                    break  # a chunked body past the limit: the app refuses it (413)
        except BodyTimeout:
            spool.close()
            raise
        finally:
            if sock is not None:
                sock.settimeout(previous)
        spool.seek(0)
        return spool, received


def _content_length(environ: dict[str, Any]) -> int | None:
    """The announced length, or None (absent or not a number: the app decides)."""
    raw = environ.get("CONTENT_LENGTH") or ""
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return None


def _timed_out(start_response: Callable[..., Any]) -> list[bytes]:
    """408, the connection closed: the client was too slow to send its request."""
    body = b"The request body did not arrive in time. Nothing was changed; please try again.\n"
    start_response(
        "408 Request Timeout",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return [body]

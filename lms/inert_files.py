"""A file someone uploaded, sent back inert: never sniffed, never run, never cached.

An uploaded file (credit evidence, a training document) or a picture drawn from one is
untrusted content, so every answer that carries one says the same three things: the browser
takes the declared type as it is, the content runs no script and fetches nothing (a sandboxing
CSP), and nothing on the way keeps a copy. The feature checks access and reads the bytes
first; this only answers with them. Core module: it imports flask only.
"""

from __future__ import annotations

import io

from flask import send_file
from werkzeug.wrappers import Response


def send_inert(data: bytes, media_type: str, download_name: str, *, inline: bool) -> Response:
    """The bytes as a private, uncached answer that can run nothing: a download, or (`inline`)
    a picture the page shows."""
    response = send_file(
        io.BytesIO(data),
        mimetype=media_type,
        as_attachment=not inline,
        download_name=download_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""A file someone uploaded, sent back inert: never sniffed, never run, never cached.

An uploaded file (credit evidence, a training document) or a picture drawn from one is
untrusted content, so every answer that carries one says the same three things: the browser
takes the declared type as it is, the content runs no script and fetches nothing (a sandboxing
CSP), and nothing on the way keeps a copy. The feature checks access and reads the bytes
first; this only answers with them, and names the file by its type the same way for every
feature. Core module: it imports flask only.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

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


# The pictures a page shows inline: an uploaded image as it is, or a PDF's first page (a PNG).
PICTURE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}


def send_download(
    data: bytes, media_type: str | None, name: str, extensions: Mapping[str, str]
) -> Response:
    """An uploaded file as an inert download called `name` plus the extension `extensions`
    gives its type; returns the answer (`.bin` and application/octet-stream when the type is
    unknown or missing)."""
    extension = extensions.get(media_type or "", "bin")
    return send_inert(
        data, media_type or "application/octet-stream", f"{name}.{extension}", inline=False
    )


def send_picture(data: bytes, media_type: str, name: str) -> Response:
    """A picture of an uploaded file (or the uploaded image) as an inert answer the page shows,
    called `name` plus its type's extension (`.png` for a type not known); returns the answer."""
    extension = PICTURE_EXTENSIONS.get(media_type, "png")
    return send_inert(data, media_type, f"{name}.{extension}", inline=True)

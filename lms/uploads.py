"""An uploaded file as it arrives: its bytes read within a cap, and its name made safe to show.

The name a browser sends is never used on disk (lms.storage makes the keys); it is kept only
to show people, so it is cut to its last path part, rid of what could break out of an
attribute or a header, and bounded. Core module: it imports lms.errors.
"""

from __future__ import annotations

from typing import BinaryIO

from lms.errors import InvalidInput

NAME_MAX = 200  # characters of a shown file name


def read_within(stream: BinaryIO, max_bytes: int, *, empty: str, too_large: str) -> bytes:
    """The upload's bytes, read no further than one past `max_bytes`; InvalidInput with
    `empty` when there are none, with `too_large` when there are more."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise InvalidInput(empty)
    if len(data) > max_bytes:
        raise InvalidInput(too_large)
    return data


def display_name(filename: str | None, fallback: str) -> str:
    """A display-only version of the uploaded name (never used on disk), or `fallback` when
    nothing of it is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>')
    return name.strip()[:NAME_MAX] or fallback

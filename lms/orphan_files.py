"""Stored files no row names any more: removed at once, once a deletion commits, or by a sweep.

A feature stores an upload first and flushes its row after, and takes a person's files away
only once their erasure commits; a store that is down at that moment leaves the file behind
(logged), and the feature's hourly sweep removes it later. A sweep touches only files written
before the time it is given (now less GRACE), so an upload between its store and its commit is
never taken for an orphan. A picture of a PDF's first page is kept under the PDF's own key
stem (`<stem>.png`): it is an orphan when no row names `<stem>.pdf`.
Core module: it imports lms.db and lms.storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from lms.db import IN_CHUNK, db
from lms.storage import Storage, StorageUnavailable

log = logging.getLogger(__name__)

GRACE = timedelta(hours=1)

# Which of these keys a row of the owning feature names (one query for a chunk of keys).
Referenced = Callable[[list[str]], set[str]]


def discard(store: Storage, key: str, what: str) -> None:
    """Remove a stored file no row refers to (any more); a store that is down leaves it for
    the sweep (logged, `what` naming the kind of file)."""
    try:
        store.delete(key)
    except StorageUnavailable:
        log.warning("%s %s left in %s for the sweep", what, key, store.describe())


def discard_after_commit(what: str, *batches: tuple[Storage, list[str]]) -> None:
    """Remove each batch's files from its store once the unit of work commits (a rolled back
    erasure keeps them)."""
    db.after_commit(lambda: [discard(store, key, what) for store, keys in batches for key in keys])


def pdf_of_picture(key: str) -> str:
    """The key of the PDF whose first page a kept picture shows (same random stem)."""
    return key.split(".", 1)[0] + ".pdf"


def sweep(
    store: Storage,
    referenced: Referenced,
    *,
    before: datetime,
    what: str,
    named_as: Callable[[str], str] = str,
) -> int:
    """Delete the files written before `before` that no row names, how many: a file is named
    when `referenced` finds `named_as(key)` (the key itself; for pictures, `pdf_of_picture`)."""
    candidates = [found.key for found in store.listing() if found.modified_at < before]
    removed = 0
    for start in range(0, len(candidates), IN_CHUNK):
        chunk = candidates[start : start + IN_CHUNK]
        named = referenced(sorted({named_as(key) for key in chunk}))
        for key in chunk:
            if named_as(key) not in named:
                discard(store, key, what)
                removed += 1
    return removed

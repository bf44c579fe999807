"""Rate-limit counters in an SQLite file, shared by every worker process on one host.

`limits` (under Flask-Limiter) keeps counters in memory (one process: with two gunicorn
workers every limit doubles), Redis, Memcached or MongoDB. The embedded tracker needs none
of those servers, so its default is this small `limits` storage on `instance/ratelimit.sqlite3`
for the fixed-window strategy Flask-Limiter uses. Each increment is one atomic UPSERT, so
concurrent workers never lose a count. With several hosts set LMS_RATELIMIT_STORAGE_URL to
Redis instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

from lms.private_files import create_private_file

SCHEME = "lms+sqlite"
STORAGE_FILE = "ratelimit.sqlite3"
# A counter store that is slow to answer must not hold sign-in up for long: after this wait
# the limiter logs the error and lets the request through (swallow_errors).
BUSY_TIMEOUT_SECONDS = 2.0
PURGE_EVERY = 200  # increments between sweeps of expired counters

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters ("
    " key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL"
    ") WITHOUT ROWID"
)
# One statement, so it is atomic without an explicit transaction: a live counter grows, an
# expired one starts again with a fresh window.
INCREMENT = (
    "INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET "
    " count = CASE WHEN counters.expires_at <= :now THEN excluded.count"
    "              ELSE counters.count + excluded.count END,"
    " expires_at = CASE WHEN counters.expires_at <= :now THEN excluded.expires_at"
    "                   ELSE counters.expires_at END "
    "RETURNING count"
)


def default_storage_uri(instance: str | Path) -> str:
    """The storage URI of the counter file in the instance folder."""
    return f"{SCHEME}://{Path(instance).absolute() / STORAGE_FILE}"


class SqliteFileStorage(Storage):
    """A `limits` storage (fixed windows) in one SQLite file; registered as `lms+sqlite://`."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: object):
        """Remember the file (everything after `lms+sqlite://`); it is opened on first use."""
        prefix = f"{SCHEME}://"
        if not uri or not uri.startswith(prefix) or not uri[len(prefix) :].startswith("/"):
            raise ValueError(f"expected {prefix}/absolute/path/to/file.sqlite3, got {uri!r}")
        self.path = Path(uri[len(prefix) :])
        self._local = threading.local()
        self._increments = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a failing store raises (the limiter logs and skips it)."""
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, made again after a fork (gunicorn workers)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_private_file(self.path)  # -wal and -shm take the file's owner-only mode
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(SCHEMA)
        self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the key's counter (a fresh window of `expiry` seconds if none)."""
        now = time.time()
        connection = self._connection()
        row = connection.execute(
            INCREMENT, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
        ).fetchone()
        self._increments += 1
        if self._increments % PURGE_EVERY == 0:
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        """The key's count in its live window (0 when none)."""
        row = (
            self._connection()
            .execute(
                "SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now when it has none)."""
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Whether the file answers."""
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))

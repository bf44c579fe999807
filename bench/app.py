"""The benchmark's WSGI app: the real tracker plus a bare route that does one trivial query.

The bare route is the yardstick: same server, same workers, same middleware (session,
commit, security headers), but one `SELECT 1` instead of a page. It exists only here, never
in the shipped app.
"""

from __future__ import annotations

import gc
import os

from flask import Flask
from sqlalchemy import text

from lms import create_app as create_tracker_app
from lms import csrf
from lms.db import db

BARE_PATH = "/bench/bare"


def create_app(config: dict | None = None) -> Flask:
    """The tracker configured from the environment, with the bench's bare route added."""
    config = dict(config or {})
    if instance := os.environ.get("LMS_BENCH_INSTANCE"):
        # Keep the bench's outbox and evidence files in its temp dir, not in instance/.
        config.setdefault("LMS_INSTANCE_PATH", instance)
    app = create_tracker_app(config)

    @app.get(BARE_PATH)
    def bench_bare() -> tuple[str, int]:
        """One trivial query through the request's session."""
        value = db.session.execute(text("SELECT 1")).scalar_one()
        return f"ok {value}", 200

    csrf.exempt(bench_bare)
    gc.collect()  # as wsgi.py does: what is loaded now lives as long as the worker
    gc.freeze()
    return app

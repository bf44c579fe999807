"""Equivalency's job: the hourly sweep of evidence files no request refers to."""

from __future__ import annotations

from huey import crontab

from lms.clock import utcnow
from lms.db import db
from lms.equivalency.preview import PREVIEW_AREA
from lms.equivalency.sweep import sweep_orphan_previews, sweep_unreferenced_evidence
from lms.jobs import task
from lms.orphan_files import GRACE
from lms.storage import store


@task("sweep_evidence", schedule=crontab(minute="37"))
def sweep_evidence() -> int:
    """Hourly: remove unreferenced evidence files (and first-page pictures) older than the
    grace period; how many."""
    before = utcnow() - GRACE
    removed = sweep_unreferenced_evidence(db.session, store("evidence"), before=before)
    return removed + sweep_orphan_previews(db.session, store(PREVIEW_AREA), before=before)

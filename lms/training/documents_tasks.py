"""The documents' job: the hourly sweep of document files no version refers to."""

from __future__ import annotations

from huey import crontab

from lms.clock import utcnow
from lms.db import db
from lms.jobs import task
from lms.orphan_files import GRACE
from lms.storage import store
from lms.training.documents import DOCUMENTS_AREA, PREVIEWS_AREA
from lms.training.documents_sweep import sweep_unreferenced_documents


@task("sweep_training_documents", schedule=crontab(minute="41"))
def sweep_training_documents() -> int:
    """Hourly: remove unreferenced document files and pictures older than the grace period."""
    return sweep_unreferenced_documents(
        db.session, store(DOCUMENTS_AREA), store(PREVIEWS_AREA), before=utcnow() - GRACE
    )

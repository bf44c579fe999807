"""The documents' sweep: remove stored document files no version refers to, and pictures of
first pages whose file no version refers to any more.

Such a file is left when the store was down as an erasure removed files after its commit, or
when a version's file was stored but its row never committed. Only files older than the grace
period are touched, so an upload between its store and its commit is never taken for one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import IN_CHUNK
from lms.storage import Storage
from lms.training.documents import discard_file
from lms.training.records_models import TrainingDocument

GRACE = timedelta(hours=1)


def _referenced(session: Session, keys: list[str]) -> set[str]:
    """Which of these file keys a document version names."""
    return set(
        session.scalars(
            select(TrainingDocument.file_key).where(TrainingDocument.file_key.in_(keys))
        )
    )


def sweep_unreferenced_documents(
    session: Session, files: Storage, previews: Storage, *, before: datetime
) -> int:
    """Delete files and pictures written before `before` that no version names; how many."""
    removed = 0
    candidates = [found.key for found in files.listing() if found.modified_at < before]
    for start in range(0, len(candidates), IN_CHUNK):
        chunk = candidates[start : start + IN_CHUNK]
        named = _referenced(session, chunk)
        for key in chunk:
            if key not in named:
                discard_file(files, key)
                removed += 1
    pictures = [found.key for found in previews.listing() if found.modified_at < before]
    for start in range(0, len(pictures), IN_CHUNK):
        stems = {key.split(".", 1)[0]: key for key in pictures[start : start + IN_CHUNK]}
        named = {key.split(".", 1)[0] for key in _referenced(session, [f"{s}.pdf" for s in stems])}
        for stem, key in stems.items():
            if stem not in named:
                discard_file(previews, key)
                removed += 1
    return removed

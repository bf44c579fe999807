"""The documents' sweep: remove stored document files no version refers to, and pictures of
first pages whose file no version refers to any more.

Such a file is left when the store was down as an erasure removed files after its commit, or
when a version's file was stored but its row never committed. Only files older than the grace
period are touched, so an upload between its store and its commit is never taken for one
(lms.orphan_files).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.orphan_files import pdf_of_picture, sweep
from lms.storage import Storage
from lms.training.documents import DISCARDED
from lms.training.records_models import TrainingDocument


def sweep_unreferenced_documents(
    session: Session, files: Storage, previews: Storage, *, before: datetime
) -> int:
    """Delete files and pictures written before `before` that no version names; how many."""

    def named(keys: list[str]) -> set[str]:
        """Which of these file keys a document version names."""
        return set(
            session.scalars(
                select(TrainingDocument.file_key).where(TrainingDocument.file_key.in_(keys))
            )
        )

    removed = sweep(files, named, before=before, what=DISCARDED)
    return removed + sweep(previews, named, before=before, what=DISCARDED, named_as=pdf_of_picture)

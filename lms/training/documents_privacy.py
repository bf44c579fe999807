"""The documents' part of a person's privacy requests: every version named in the export;
erasure removes the files (and pictures of their first pages) and keeps the review record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.equivalency.api import preview_key
from lms.orphan_files import discard_after_commit
from lms.training.documents import DISCARDED, DOCUMENTS_AREA, PREVIEWS_AREA
from lms.training.records_models import TrainingDocument


def export(session: Session, user: User) -> Export:
    """Every version of the person's documents with its review (files named, not included)."""
    documents = session.scalars(
        select(TrainingDocument)
        .where(TrainingDocument.user_id == user.id)
        .order_by(TrainingDocument.kind, TrainingDocument.version)
    ).all()
    return Export(
        [
            {
                "kind": d.kind.value,
                "version": d.version,
                "status": d.status.value,
                "file_name": d.file_name,
                "uploaded_by": d.uploaded_by.value,
                "uploaded_at": iso(d.uploaded_at),
                "reviewed_at": iso(d.reviewed_at),
                "review_comment": d.review_comment,
            }
            for d in documents
        ]
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Empty every version's file fields; the files go once the deletion commits."""
    documents = session.scalars(
        select(TrainingDocument).where(TrainingDocument.user_id == erasure.person.id)
    ).all()
    keys = [d.file_key for d in documents if d.file_key]
    pictures = [preview_key(key) for key in keys if key.endswith(".pdf")]
    for document in documents:
        document.file_key = None
        document.file_name = None
        document.media_type = None
        document.size = None
    if keys:
        discard_after_commit(
            DISCARDED,
            (erasure.files[DOCUMENTS_AREA], keys),
            (erasure.files[PREVIEWS_AREA], pictures),
        )
    erasure.facts["training_document_files_removed"] = len(keys)


HOOKS = PrivacyHooks("training_documents", export, erase)

"""What a reviewer sees of a document without downloading it: a PDF's first page as a
picture (drawn once, in the bounded child process of lms.equivalency.preview, and kept in the
private previews store), or a DOCX's text, pulled out by lms.training.documents_files."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.equivalency.api import Picture, evidence_picture, picture_ready
from lms.errors import NotFound
from lms.storage import Storage, StorageUnavailable, StoredFileMissing
from lms.training.documents import get_document_for
from lms.training.documents_files import DOCX, PDF, docx_paragraphs
from lms.training.records_models import TrainingDocument


@dataclass(frozen=True)
class Preview:
    """What the document's page shows inline: a picture of page one, or paragraphs of text."""

    picture: bool = False
    paragraphs: tuple[str, ...] = ()
    unavailable: bool = False  # the store is down or the file gone: the download link only


def preview_of(document: TrainingDocument, files: Storage, previews: Storage) -> Preview:
    """The inline view of a version the caller has already checked access to."""
    if not document.file_key:
        return Preview(unavailable=True)
    try:
        if document.media_type == PDF:
            ready = picture_ready(files, previews, document.file_key, PDF)
            return Preview(picture=ready, unavailable=not ready)
        if document.media_type == DOCX:
            paragraphs = docx_paragraphs(files.read(document.file_key))
            if paragraphs is None:
                return Preview(unavailable=True)
            return Preview(paragraphs=tuple(paragraphs))
    except (StoredFileMissing, StorageUnavailable):
        return Preview(unavailable=True)
    return Preview(unavailable=True)


def first_page_for(
    session: Session, document_id: int, viewer: User, files: Storage, previews: Storage
) -> Picture:
    """The picture of a PDF version's first page for its clinician or staff, or NotFound."""
    document = get_document_for(session, document_id, viewer)
    if not document.file_key or document.media_type != PDF:
        raise NotFound("This document has no page to show; download it instead.")
    try:
        picture = evidence_picture(
            previews=previews, evidence=files, key=document.file_key, media_type=PDF
        )
    except StoredFileMissing as error:
        raise NotFound("The file is missing from storage.") from error
    if picture is None:
        raise NotFound("This document has no page to show; download it instead.")
    return picture

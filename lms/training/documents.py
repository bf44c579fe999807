"""The Certificate of Training's documents: upload a version, review it, find what waits.

A reflection paper is uploaded by the clinician; a letter of recommendation by the consultant
(through their link) or by the clinician, and then shown as "uploaded by the clinician". Each
upload is a new version and every version is kept: a new one replaces a version still waiting
for review, or answers a request for changes; an approved document takes no more versions.
Staff (instructors and admins) approve a version or ask for changes with a comment, once,
never for their own documents. The file is stored first and the row flushed after, so a
failed upload records nothing (lms.storage).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms import signals
from lms.audit.services import record_event_of
from lms.auth.api import User
from lms.db import IN_CHUNK, utcnow
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.orphan_files import discard
from lms.storage import Storage, StoredFileMissing, new_key
from lms.training.documents_files import EXTENSIONS, check_upload
from lms.training.facts import APPROVED_DOCUMENTS, provide
from lms.training.records_models import DocumentKind, DocumentStatus, TrainingDocument, Uploader

DOCUMENTS_AREA = "training_documents"
PREVIEWS_AREA = "training_document_previews"
MAX_COMMENT_LENGTH = 2000
DISCARDED = "training document"  # how the log names a file left behind
QUEUE_LIMIT = 500
# Who may upload each kind: the paper is the clinician's own work.
UPLOADERS = {
    DocumentKind.REFLECTION_PAPER: frozenset({Uploader.CLINICIAN}),
    DocumentKind.RECOMMENDATION_LETTER: frozenset({Uploader.CLINICIAN, Uploader.CONSULTANT}),
}


def _kind(value: str) -> DocumentKind:
    """The document kind a form or a caller named, or InvalidInput."""
    try:
        return DocumentKind(value)
    except ValueError as error:
        raise InvalidInput("Choose which document this is.") from error


def discard_file(store: Storage, key: str) -> None:
    """Remove a stored file no row refers to; a store that is down leaves it for the hourly
    sweep (lms.training.documents_sweep)."""
    discard(store, key, DISCARDED)


def _record(
    session: Session,
    document: TrainingDocument,
    action: str,
    *,
    actor_id: int | None,
    **facts: object,
) -> None:
    """Audit an event of a document version: it is the subject, its clinician the person."""
    record_event_of(
        session,
        "training_document",
        document,
        action,
        actor_id=actor_id,
        kind=document.kind.value,
        version=document.version,
        **facts,
    )


def upload_document(
    session: Session,
    *,
    user_id: int,
    kind: str,
    stream: BinaryIO | None,
    filename: str | None,
    uploaded_by: str,
    actor_id: int | None,
    store: Storage,
    consultant_id: int | None = None,
) -> TrainingDocument:
    """Store a new version of the clinician's document and put it in the review queue.

    `uploaded_by` is "clinician" (the clinician's own page) or "consultant" (the consultant's
    signed link; `actor_id` is then None and `consultant_id` names them in the audit). Checks
    run first; nothing is stored when one fails.
    """
    document_kind = _kind(kind)
    try:
        uploader = Uploader(uploaded_by)
    except ValueError as error:
        raise InvalidInput("Unknown uploader.") from error
    if uploader not in UPLOADERS[document_kind]:
        raise Forbidden(f"Only the clinician uploads the {document_kind.label.lower()}.")
    if stream is None:
        raise InvalidInput("Choose the file to upload: a PDF or a Word document (DOCX).")
    person = session.get(User, user_id)
    if person is None or person.anonymised_at is not None:
        raise NotFound("No such clinician.")
    versions = session.execute(
        select(TrainingDocument.id, TrainingDocument.status, TrainingDocument.version)
        .where(TrainingDocument.user_id == user_id, TrainingDocument.kind == document_kind)
        .order_by(TrainingDocument.version)
    ).all()
    if any(status == DocumentStatus.APPROVED for _id, status, _v in versions):
        raise Conflict(f"Your {document_kind.label.lower()} is already approved.")
    checked = check_upload(stream, filename)
    key = new_key(EXTENSIONS[checked.media_type])
    store.put(key, checked.data, checked.media_type)
    waiting = [row_id for row_id, status, _v in versions if status == DocumentStatus.SUBMITTED]
    try:
        if waiting:
            session.execute(
                update(TrainingDocument)
                .where(
                    TrainingDocument.id.in_(waiting),
                    TrainingDocument.status == DocumentStatus.SUBMITTED,
                )
                .values(status=DocumentStatus.REPLACED)
                .execution_options(synchronize_session="fetch")
            )
        document = TrainingDocument(
            user_id=user_id,
            kind=document_kind,
            version=(versions[-1][2] + 1) if versions else 1,
            status=DocumentStatus.SUBMITTED,
            file_key=key,
            file_name=checked.name,
            media_type=checked.media_type,
            size=len(checked.data),
            uploaded_by=uploader,
            uploaded_by_id=actor_id,
        )
        session.add(document)
        session.flush()
        # Imported here: the requirement reads progress, whose models need every feature's.
        from lms.training.requirement import ensure_credential, start_candidate

        start_candidate(session, user_id, ensure_credential(session))
    except IntegrityError as error:
        discard_file(store, key)
        raise Conflict(
            f"Another version of your {document_kind.label.lower()} arrived at the same moment; "
            "look at the page again."
        ) from error
    except Exception:
        discard_file(store, key)
        raise
    _record(
        session,
        document,
        "training.document_uploaded",
        actor_id=actor_id,
        uploaded_by=uploader.value,
        replaced_versions=len(waiting),
        **({"consultant_id": consultant_id} if consultant_id is not None else {}),
    )
    return document


def review_document(
    session: Session, document_id: int, *, reviewer: User, approve: bool, comment: str
) -> TrainingDocument:
    """Approve a waiting version, or ask for changes with a comment (a notice to the
    clinician); exactly once, and never one's own document."""
    if not reviewer.is_staff:
        raise Forbidden("Only instructors and administrators review documents.")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise InvalidInput("Say what should change: the clinician reads your comment.")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput(f"Keep the comment under {MAX_COMMENT_LENGTH} characters.")
    document = session.get(TrainingDocument, document_id)
    if document is None:
        raise NotFound("No such document.")
    if document.user_id == reviewer.id:
        raise Forbidden("You cannot review your own document; another reviewer must.")
    status = DocumentStatus.APPROVED if approve else DocumentStatus.CHANGES_REQUESTED
    changed = session.execute(
        update(TrainingDocument)
        .where(
            TrainingDocument.id == document_id,
            TrainingDocument.status == DocumentStatus.SUBMITTED,
        )
        .values(
            status=status,
            reviewer_id=reviewer.id,
            reviewed_at=utcnow(),
            review_comment=comment or None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(document)
    if changed != 1:
        raise AlreadyDecided(
            f"This version is no longer waiting for review: {document.status.label.lower()}."
        )
    _record(session, document, f"training.document_{status.value}", actor_id=reviewer.id)
    signals.training_document_reviewed.send(document, session=session)
    return document


def get_document_for(session: Session, document_id: int, viewer: User) -> TrainingDocument:
    """A version the viewer may see: their own, or any when they are staff (NotFound else)."""
    document = session.scalar(
        select(TrainingDocument)
        .options(joinedload(TrainingDocument.user), joinedload(TrainingDocument.reviewer))
        .where(TrainingDocument.id == document_id)
    )
    if document is None or (document.user_id != viewer.id and not viewer.is_staff):
        raise NotFound("No such document.")
    return document


def versions_of(session: Session, user_id: int) -> dict[DocumentKind, list[TrainingDocument]]:
    """Every version of each of the clinician's documents, newest first (one query)."""
    found: dict[DocumentKind, list[TrainingDocument]] = {kind: [] for kind in DocumentKind}
    for document in session.scalars(
        select(TrainingDocument)
        .options(joinedload(TrainingDocument.reviewer))
        .where(TrainingDocument.user_id == user_id)
        .order_by(TrainingDocument.kind, TrainingDocument.version.desc())
    ):
        found[document.kind].append(document)
    return found


def documents_to_review(session: Session) -> list[TrainingDocument]:
    """Versions waiting for review, oldest first, with their clinicians (one query)."""
    return list(
        session.scalars(
            select(TrainingDocument)
            .options(joinedload(TrainingDocument.user))
            .where(TrainingDocument.status == DocumentStatus.SUBMITTED)
            .order_by(TrainingDocument.uploaded_at, TrainingDocument.id)
            .limit(QUEUE_LIMIT)
        )
    )


def approved_documents(session: Session, user_ids: Iterable[int]) -> dict[int, set[str]]:
    """{user_id: kinds ("reflection_paper", "recommendation_letter") with an approved version}
    for each user asked about: one query per IN_CHUNK people."""
    wanted = sorted(set(user_ids))
    result: dict[int, set[str]] = {user_id: set() for user_id in wanted}
    query = select(TrainingDocument.user_id, TrainingDocument.kind).where(
        TrainingDocument.status == DocumentStatus.APPROVED
    )
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for user_id, kind in session.execute(query.where(TrainingDocument.user_id.in_(chunk))):
            result[user_id].add(kind.value)
    return result


def file_for(
    session: Session, document_id: int, viewer: User, store: Storage
) -> tuple[bytes, TrainingDocument]:
    """The bytes of a version the viewer may see (access checked before the store is asked)."""
    document = get_document_for(session, document_id, viewer)
    if not document.file_key:
        raise NotFound("This document's file was removed.")
    try:
        return store.read(document.file_key), document
    except StoredFileMissing as error:
        raise NotFound("The file is missing from storage; ask an administrator.") from error


provide(APPROVED_DOCUMENTS, approved_documents)

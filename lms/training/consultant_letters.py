"""The consultant's letter of recommendation through their signed link: the link that opens a
consultation also takes the letter for that entry's clinician (and no one else's), stored as a
version "uploaded by the consultant" and reviewed like any document (lms.training.documents)."""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy.orm import Session

from lms.errors import Forbidden
from lms.storage import Storage
from lms.training import consultations as log
from lms.training.documents import upload_document
from lms.training.models import Consultation, ConsultationState
from lms.training.records_models import DocumentKind, TrainingDocument


def letter_welcome(entry: Consultation) -> bool:
    """Whether the link of this entry may take a letter for its clinician: only once the
    consultant has confirmed the consultation (an entry still awaiting them, declined or
    voided vouches for no working relationship), and never for themselves."""
    return entry.state == ConsultationState.CONFIRMED and not log.same_person(
        entry.consultant.email, entry.user.email
    )


def upload_letter_by_code(
    session: Session,
    code: str,
    *,
    stream: BinaryIO | None,
    filename: str | None,
    store: Storage,
) -> tuple[Consultation, TrainingDocument]:
    """Store the letter of recommendation for the clinician the link's entry names, uploaded
    by its consultant (checked like the clinician's upload: PDF or DOCX by content, size cap).

    Refused: a link that is not valid (expired, tampered, another consultant's), an entry the
    consultant has not confirmed (awaiting, declined or voided), a consultant writing for
    themselves, and a letter already approved.
    """
    entry = log.entry_for_code(session, code)
    if not letter_welcome(entry):
        raise Forbidden(
            "This link takes a letter only once you have confirmed the consultation: confirm "
            "it first (a declined or voided one takes none)."
        )
    document = upload_document(
        session,
        user_id=entry.user_id,
        kind=DocumentKind.RECOMMENDATION_LETTER.value,
        stream=stream,
        filename=filename,
        uploaded_by="consultant",
        actor_id=None,
        store=store,
        consultant_id=entry.consultant_id,
    )
    return entry, document

"""Equivalency rules: ask for credit for outside training, withdraw it, and decide it once."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms import dates, signals
from lms.audit.services import record_event_of
from lms.auth.api import Role, User
from lms.catalog.api import CatalogItem
from lms.catalog.services import load_catalogue
from lms.clock import programme_zone
from lms.clock import today as programme_today
from lms.db import utcnow
from lms.equivalency.evidence import StoredEvidence, discard_evidence, store_evidence
from lms.equivalency.models import (
    EquivalencyRequest,
    EquivalencyStatus,
)
from lms.equivalency.preview import Picture, evidence_picture, picture_ready
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.i18n import translate
from lms.progress.api import Completion
from lms.storage import Storage, StorageUnavailable, StoredFileMissing

# Programmes whose introductory trainings the public pages name as accepted; "Other" is free.
SUGGESTED_PROGRAMMES: tuple[str, ...] = ("KTC", "KRIYA", "PRATI", "SAGE")
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class RequestInput:
    """What a clinician states about the outside training (already shape-checked by the form)."""

    item_code: str
    outside_programme: str
    attended_from: date | None
    attended_to: date | None
    hours: Decimal | None
    description: str


def validate_request(data: RequestInput) -> None:
    """Refuse values that have the right shape but make no sense."""
    if not data.outside_programme.strip():
        raise InvalidInput(translate("Name the programme where you took the training."))
    if len(data.outside_programme.strip()) > 200:
        raise InvalidInput(translate("The programme name is too long (200 characters at most)."))
    if data.attended_from and data.attended_to and data.attended_to < data.attended_from:
        raise InvalidInput("The training cannot end before it started.")
    today = programme_today()
    if (data.attended_from and data.attended_from > today) or (
        data.attended_to and data.attended_to > today
    ):
        raise InvalidInput("Credit can only be asked for training that has already happened.")
    if data.hours is not None:
        try:
            if data.hours <= 0 or data.hours > Decimal("1000"):
                raise InvalidInput("Hours must be more than 0 and at most 1000.")
        except InvalidOperation as error:
            raise InvalidInput("Hours must be a number.") from error
    if not data.description.strip():
        raise InvalidInput("Describe the training: what it covered and who ran it.")


def record_request_event(
    session: Session,
    request: EquivalencyRequest,
    action: str,
    *,
    actor_id: int | None,
    **facts: Any,
) -> None:
    """Audit an event of a credit request: it is the subject, its requester the person."""
    record_event_of(session, "equivalency_request", request, action, actor_id=actor_id, **facts)


def requestable_items(session: Session) -> list[CatalogItem]:
    """Active catalogue items credit can be asked for, in catalogue order."""
    return list(load_catalogue(session).items)


def submit_request(
    session: Session,
    *,
    user_id: int,
    data: RequestInput,
    evidence_store: Storage,
    evidence_stream: BinaryIO | None,
    evidence_filename: str | None,
) -> EquivalencyRequest:
    """Record a pending request with its evidence; refuses duplicates and bad files.

    The file is stored first and the row flushed after, so a store that is down
    (StorageUnavailable) leaves no row; a row that cannot be flushed takes its file back
    with it, and one that fails to commit later leaves a file the sweep removes.
    """
    validate_request(data)
    item = session.scalar(
        select(CatalogItem).where(CatalogItem.code == data.item_code, CatalogItem.active.is_(True))
    )
    if item is None:
        raise InvalidInput("Choose the module or retreat the training should count for.")
    if evidence_stream is None:
        raise InvalidInput("Attach evidence: a certificate or transcript as PDF, PNG or JPEG.")
    completed = session.scalar(
        select(Completion.id).where(
            Completion.user_id == user_id,
            Completion.item_id == item.id,
            Completion.is_live,
        )
    )
    if completed is not None:
        raise Conflict(f"You have already completed {item.title}; no credit is needed for it.")
    _refuse_live_duplicate(session, user_id, item)
    stored = store_evidence(evidence_store, evidence_stream, evidence_filename)
    title = item.title  # a failed flush expires every loaded object with its transaction
    try:
        return add_request(
            session,
            user_id=user_id,
            stated=data,
            stored=stored,
            evidence_store=evidence_store,
            item_id=item.id,
        )
    except IntegrityError as error:
        raise Conflict(f"You already have a pending or approved request for {title}.") from error


def add_request(
    session: Session,
    *,
    user_id: int,
    stated: RequestInput,
    stored: StoredEvidence,
    evidence_store: Storage,
    **counts_for: Any,
) -> EquivalencyRequest:
    """Record a checked pending request with its stored evidence, for an item or for
    consultations (`counts_for`: the columns that say which), then announce and audit it.

    A row that cannot be flushed takes its file back with it (the error goes on).
    """
    request = EquivalencyRequest(
        user_id=user_id,
        outside_programme=stated.outside_programme.strip(),
        attended_from=stated.attended_from,
        attended_to=stated.attended_to,
        hours=stated.hours,
        description=stated.description.strip(),
        evidence_name=stored.original_name,
        evidence_key=stored.key,
        evidence_type=stored.media_type,
        evidence_size=stored.size,
        status=EquivalencyStatus.PENDING,
        **counts_for,
    )
    session.add(request)
    try:
        session.flush()
    except Exception:
        discard_evidence(evidence_store, stored.key)
        raise
    signals.equivalency_requested.send(request, session=session)
    record_request_event(
        session,
        request,
        "equivalency.requested",
        actor_id=user_id,
        **_what_it_counts_for(request),
        outside_programme=request.outside_programme,
    )
    return request


def _what_it_counts_for(request: EquivalencyRequest) -> dict[str, Any]:
    """The audit facts naming what a request counts for: the item's code, or the
    consultations' kind, number and hours."""
    if request.item is not None:
        return {"item": request.item.code}
    return {
        "consultation_kind": str(request.consultation_kind),
        "consultations": request.consultations,
        "hours": request.hours,
    }


def _refuse_live_duplicate(session: Session, user_id: int, item: CatalogItem) -> None:
    """One pending or approved request per clinician and item (the index enforces it too)."""
    live = session.scalar(
        select(EquivalencyRequest.status).where(
            EquivalencyRequest.user_id == user_id,
            EquivalencyRequest.item_id == item.id,
            EquivalencyRequest.status.in_([EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]),
        )
    )
    if live == EquivalencyStatus.APPROVED:
        raise Conflict(f"Your credit for {item.title} is already approved.")
    if live == EquivalencyStatus.PENDING:
        raise Conflict(
            f"You already have a pending request for {item.title}; "
            "withdraw it first if you want to send a new one."
        )


def own_requests(session: Session, user_id: int) -> list[EquivalencyRequest]:
    """A clinician's requests, newest first, with their items (one query)."""
    return list(
        session.scalars(
            select(EquivalencyRequest)
            .options(joinedload(EquivalencyRequest.item), joinedload(EquivalencyRequest.reviewer))
            .where(EquivalencyRequest.user_id == user_id)
            .order_by(EquivalencyRequest.created_at.desc(), EquivalencyRequest.id.desc())
        )
    )


def review_queue(
    session: Session, status: EquivalencyStatus | None = EquivalencyStatus.PENDING
) -> list[EquivalencyRequest]:
    """Requests for reviewers (oldest pending first), with person and item (one query)."""
    query = select(EquivalencyRequest).options(
        joinedload(EquivalencyRequest.user),
        joinedload(EquivalencyRequest.item),
        joinedload(EquivalencyRequest.reviewer),
    )
    if status is not None:
        query = query.where(EquivalencyRequest.status == status)
    if status == EquivalencyStatus.PENDING:
        query = query.order_by(EquivalencyRequest.created_at, EquivalencyRequest.id)
    else:
        query = query.order_by(EquivalencyRequest.created_at.desc(), EquivalencyRequest.id.desc())
    return list(session.scalars(query.limit(500)))


def _may_review(viewer: User) -> bool:
    """Instructors and admins review equivalency requests."""
    return viewer.has_role(Role.INSTRUCTOR, Role.ADMIN)


def get_request_for(session: Session, request_id: int, viewer: User) -> EquivalencyRequest:
    """A request the viewer may see: their own, or any when they review (NotFound otherwise)."""
    request = session.scalar(
        select(EquivalencyRequest)
        .options(
            joinedload(EquivalencyRequest.user),
            joinedload(EquivalencyRequest.item),
            joinedload(EquivalencyRequest.reviewer),
        )
        .where(EquivalencyRequest.id == request_id)
    )
    if request is None or (request.user_id != viewer.id and not _may_review(viewer)):
        raise NotFound("No such request.")
    return request


def evidence_file_for(
    session: Session, request_id: int, viewer: User, evidence_store: Storage
) -> tuple[bytes, EquivalencyRequest]:
    """The evidence file's bytes of a request the viewer may see, or NotFound.

    Access is checked first; only then is the store asked (StorageUnavailable when it is down).
    """
    request = get_request_for(session, request_id, viewer)
    if not request.evidence_key:
        raise NotFound("This request has no evidence file.")
    try:
        data = evidence_store.read(request.evidence_key)
    except StoredFileMissing as error:
        raise NotFound(
            "The evidence file of this request is missing from storage; ask an administrator."
        ) from error
    return data, request


def _already_decided(session: Session, request_id: int) -> AlreadyDecided:
    """The message for a request that someone else changed first."""
    request = session.scalar(
        select(EquivalencyRequest)
        .options(joinedload(EquivalencyRequest.reviewer))
        .where(EquivalencyRequest.id == request_id)
        .execution_options(populate_existing=True)
    )
    if request is None:
        return AlreadyDecided("That request no longer exists.")
    when = (
        dates.moment(request.decided_at, programme_zone(session))
        if request.decided_at
        else "earlier"
    )
    if request.status == EquivalencyStatus.WITHDRAWN:
        return AlreadyDecided(f"This request was already withdrawn by the clinician on {when}.")
    who = request.reviewer.name if request.reviewer else "a reviewer"
    return AlreadyDecided(f"This request was already {request.status.value} by {who} on {when}.")


def withdraw_request(session: Session, request_id: int, *, user_id: int) -> EquivalencyRequest:
    """The clinician withdraws their own pending request (compare-and-set on pending)."""
    request = session.get(EquivalencyRequest, request_id)
    if request is None or request.user_id != user_id:
        raise NotFound("No such request.")
    now = utcnow()
    result = session.execute(
        update(EquivalencyRequest)
        .where(
            EquivalencyRequest.id == request_id,
            EquivalencyRequest.status == EquivalencyStatus.PENDING,
        )
        .values(status=EquivalencyStatus.WITHDRAWN, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _already_decided(session, request_id)
    session.refresh(request)
    record_request_event(
        session, request, "equivalency.withdrawn", actor_id=user_id, **_what_it_counts_for(request)
    )
    signals.equivalency_withdrawn.send(request, session=session)
    return request


def decide_request(
    session: Session, request_id: int, *, reviewer_id: int, approve: bool, reason: str
) -> EquivalencyRequest:
    """Approve or decline a pending request exactly once; approval unlocks at once."""
    from lms.progress.services import watch_unlocks

    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput("Give the clinician a reason when you decline.")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"Keep the reason under {MAX_REASON_LENGTH} characters.")
    request = session.get(EquivalencyRequest, request_id)
    if request is None:
        raise NotFound("No such request.")
    if request.user_id == reviewer_id:
        raise Forbidden("You cannot decide your own request; another reviewer must.")
    status = EquivalencyStatus.APPROVED if approve else EquivalencyStatus.DECLINED
    statement = (
        update(EquivalencyRequest)
        .where(
            EquivalencyRequest.id == request_id,
            EquivalencyRequest.status == EquivalencyStatus.PENDING,
        )
        .values(status=status, reviewer_id=reviewer_id, decided_at=utcnow(), decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    # An approval's unlock check runs around the change itself so items open in this same
    # commit; a decline unlocks nothing.
    with watch_unlocks(session, request.user_id) if approve else nullcontext():
        if session.execute(statement).rowcount != 1:
            raise _already_decided(session, request_id)
        session.refresh(request)
    record_request_event(
        session,
        request,
        f"equivalency.{status.value}",
        actor_id=reviewer_id,
        reason=reason,
        **_what_it_counts_for(request),
    )
    signals.equivalency_decided.send(request, session=session)
    return request


def evidence_picture_for(
    session: Session,
    request_id: int,
    viewer: User,
    evidence_store: Storage,
    preview_store: Storage,
) -> Picture:
    """The picture of a request's evidence (its first page, or the image) for the owner or a
    reviewer; NotFound when the viewer may not see it or there is none."""
    request = get_request_for(session, request_id, viewer)
    if not request.evidence_key:
        raise NotFound("This request has no evidence file.")
    try:
        picture = evidence_picture(
            evidence_store, preview_store, request.evidence_key, request.evidence_type
        )
    except StoredFileMissing as error:
        raise NotFound("The evidence file of this request is missing from storage.") from error
    if picture is None:
        raise NotFound("This evidence file has no page to show; download it instead.")
    return picture


def evidence_picture_ready(
    request: EquivalencyRequest, evidence_store: Storage, preview_store: Storage
) -> bool:
    """Whether the request's page can show its evidence inline (a store that is down, or a
    file gone, leave only the download link)."""
    if not request.evidence_key:
        return False
    try:
        return picture_ready(
            evidence_store, preview_store, request.evidence_key, request.evidence_type
        )
    except (StoredFileMissing, StorageUnavailable):
        return False

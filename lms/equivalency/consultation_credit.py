"""Credit for consultations held with another programme: a clinician asks that a number of
group or individual consultations (with their hours and evidence) count for the Certificate
of Training; it is reviewed, withdrawn and decided like any credit request
(lms.equivalency.services), and once approved the training's consultation log counts it
(`approved_consultation_credit`, read through lms.equivalency.api)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.catalog.api import ConsultationKind
from lms.equivalency.evidence import store_evidence
from lms.equivalency.models import (
    MAX_CREDITED_CONSULTATIONS,
    MAX_HOURS_PER_CONSULTATION,
    EquivalencyRequest,
    EquivalencyStatus,
)
from lms.equivalency.services import RequestInput, add_request, validate_request
from lms.errors import InvalidInput
from lms.storage import Storage


@dataclass(frozen=True)
class ConsultationCreditInput:
    """What a clinician states about consultations held with another programme."""

    kind: str
    consultations: Any
    hours: Any
    outside_programme: str
    attended_from: date | None
    attended_to: date | None
    description: str


def _consultation_numbers(data: ConsultationCreditInput) -> tuple[ConsultationKind, int, Decimal]:
    """The kind, how many and their hours, or InvalidInput: 1 to 12 consultations, hours above
    0 and at most 24 a consultation on average."""
    try:
        kind = ConsultationKind(data.kind)
    except ValueError:
        raise InvalidInput("Choose group or individual consultations.") from None
    try:
        count = int(str(data.consultations).strip())
    except (TypeError, ValueError):
        raise InvalidInput("Give the number of consultations as a whole number.") from None
    if not 1 <= count <= MAX_CREDITED_CONSULTATIONS:
        raise InvalidInput(
            f"Give between 1 and {MAX_CREDITED_CONSULTATIONS} consultations in one request."
        )
    try:
        hours = Decimal(str(data.hours).strip())
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput("Give the hours as a number, like 2 or 1.5.") from None
    if not hours.is_finite() or hours <= 0:
        raise InvalidInput("Give the hours as a number above 0.")
    if hours > count * MAX_HOURS_PER_CONSULTATION:
        raise InvalidInput(
            f"{count} consultations can hold at most {count * MAX_HOURS_PER_CONSULTATION} "
            "hours (a day each)."
        )
    if hours != hours.quantize(Decimal("0.01")):
        raise InvalidInput("Give the hours to at most two decimal places.")
    return kind, count, hours


def submit_consultation_credit(
    session: Session,
    *,
    user_id: int,
    data: ConsultationCreditInput,
    evidence_store: Storage,
    evidence_stream: BinaryIO | None,
    evidence_filename: str | None,
) -> EquivalencyRequest:
    """Record a pending request that consultations held with another programme count for the
    Certificate of Training (group or individual: how many, their hours), with its evidence.

    Reviewed like any credit request; once approved the consultation log counts it beside the
    confirmed entries. Several may be sent (consultations from more than one programme).
    """
    kind, count, hours = _consultation_numbers(data)
    stated = RequestInput(
        item_code="",
        outside_programme=data.outside_programme,
        attended_from=data.attended_from,
        attended_to=data.attended_to,
        hours=hours,
        description=data.description,
    )
    validate_request(stated)
    if evidence_stream is None:
        raise InvalidInput(
            "Attach evidence: a letter or record of the consultations as PDF, PNG or JPEG."
        )
    return add_request(
        session,
        user_id=user_id,
        stated=stated,
        stored=store_evidence(evidence_store, evidence_stream, evidence_filename),
        evidence_store=evidence_store,
        item_id=None,
        consultation_kind=kind,
        consultations=count,
    )


def approved_consultation_credit(
    session: Session, ids: Sequence[int]
) -> dict[int, dict[str, tuple[int, Decimal]]]:
    """Per person and kind: (consultations, hours) of their approved consultation credit.
    One query."""
    rows = session.execute(
        select(
            EquivalencyRequest.user_id,
            EquivalencyRequest.consultation_kind,
            func.coalesce(func.sum(EquivalencyRequest.consultations), 0),
            func.coalesce(func.sum(EquivalencyRequest.hours), 0),
        )
        .where(
            EquivalencyRequest.user_id.in_(list(ids)),
            EquivalencyRequest.status == EquivalencyStatus.APPROVED,
            EquivalencyRequest.consultation_kind.is_not(None),
        )
        .group_by(EquivalencyRequest.user_id, EquivalencyRequest.consultation_kind)
    )
    found: dict[int, dict[str, tuple[int, Decimal]]] = {}
    for user_id, kind, count, hours in rows:
        found.setdefault(user_id, {})[str(kind)] = (int(count), Decimal(str(hours)))
    return found

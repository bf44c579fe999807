"""Equivalency's part of a person's privacy requests: their credit requests and evidence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.equivalency.models import EquivalencyRequest
from lms.equivalency.preview import PREVIEW_AREA, preview_key
from lms.orphan_files import discard_after_commit


def export(session: Session, user: User) -> Export:
    """Every credit request with its decision (the evidence file is named, not included)."""
    requests = session.scalars(
        select(EquivalencyRequest)
        .options(selectinload(EquivalencyRequest.item))
        .where(EquivalencyRequest.user_id == user.id)
        .order_by(EquivalencyRequest.id)
    ).all()
    return Export(
        [
            {
                "item": r.item.code if r.item else None,
                "consultation_kind": str(r.consultation_kind) if r.consultation_kind else None,
                "consultations": r.consultations,
                "outside_programme": r.outside_programme,
                "attended_from": iso(r.attended_from),
                "attended_to": iso(r.attended_to),
                "hours": str(r.hours) if r.hours is not None else None,
                "description": r.description,
                "evidence_file_name": r.evidence_name,
                "status": r.status.value,
                "created_at": iso(r.created_at),
                "decided_at": iso(r.decided_at),
                "decision_reason": r.decision_reason,
            }
            for r in requests
        ]
    )


def erase(session: Session, erasure: Erasure) -> None:
    """The decisions stay; the description and evidence go (files, and the pictures of their
    first pages, once the deletion commits)."""
    requests = session.scalars(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == erasure.person.id)
    ).all()
    keys = [r.evidence_key for r in requests if r.evidence_key]
    for request in requests:
        request.evidence_key = None
        request.evidence_name = None
        request.evidence_type = None
        request.evidence_size = None
        request.description = ""
    if keys:
        discard_after_commit(
            "evidence",
            (erasure.files["evidence"], keys),
            (erasure.files[PREVIEW_AREA], [preview_key(key) for key in keys]),
        )
    erasure.facts["evidence_files_removed"] = len(keys)


HOOKS = PrivacyHooks("equivalency_requests", export, erase)

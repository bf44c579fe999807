"""The evidence sweep: remove stored evidence files that no credit request refers to, and the
pictures of first pages whose evidence file is no longer referred to.

Such a file is left when the store was down as a deletion ran (a person's erasure removes
their files after the deletion commits), or when a request's file was stored but its row
never committed. Only files older than the grace period are touched, so an upload between
its store and its commit is never taken for one (lms.orphan_files).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.equivalency.models import EquivalencyRequest
from lms.orphan_files import Referenced, pdf_of_picture, sweep
from lms.storage import Storage


def _named_by_requests(session: Session) -> Referenced:
    """Which of these keys a request names as its evidence (one query a chunk)."""
    return lambda keys: set(
        session.scalars(
            select(EquivalencyRequest.evidence_key).where(EquivalencyRequest.evidence_key.in_(keys))
        )
    )


def sweep_unreferenced_evidence(session: Session, store: Storage, *, before: datetime) -> int:
    """Delete the evidence files written before `before` that no request names; how many."""
    return sweep(store, _named_by_requests(session), before=before, what="evidence")


def sweep_orphan_previews(session: Session, previews: Storage, *, before: datetime) -> int:
    """Delete the first-page pictures written before `before` whose evidence no request names
    any more (a person's erasure removes them too; this catches a store that was down)."""
    return sweep(
        previews,
        _named_by_requests(session),
        before=before,
        what="evidence",
        named_as=pdf_of_picture,
    )

"""The evidence sweep: remove stored evidence files that no credit request refers to, and the
pictures of first pages whose evidence file is no longer referred to.

Such a file is left when the store was down as a deletion ran (a person's erasure removes
their files after the deletion commits), or when a request's file was stored but its row
never committed. Only files older than the grace period are touched, so an upload between
its store and its commit is never taken for one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import IN_CHUNK
from lms.equivalency.evidence import discard_evidence
from lms.equivalency.models import EquivalencyRequest
from lms.storage import Storage

GRACE = timedelta(hours=1)


def sweep_unreferenced_evidence(session: Session, store: Storage, *, before: datetime) -> int:
    """Delete the evidence files written before `before` that no request names; how many."""
    candidates = [found.key for found in store.listing() if found.modified_at < before]
    removed = 0
    for start in range(0, len(candidates), IN_CHUNK):
        chunk = candidates[start : start + IN_CHUNK]
        referenced = set(
            session.scalars(
                select(EquivalencyRequest.evidence_key).where(
                    EquivalencyRequest.evidence_key.in_(chunk)
                )
            )
        )
        for key in chunk:
            if key not in referenced:
                discard_evidence(store, key)
                removed += 1
    return removed


def sweep_orphan_previews(session: Session, previews: Storage, *, before: datetime) -> int:
    """Delete the first-page pictures written before `before` whose evidence no request names
    any more (a person's erasure removes them too; this catches a store that was down)."""
    candidates = [found.key for found in previews.listing() if found.modified_at < before]
    removed = 0
    for start in range(0, len(candidates), IN_CHUNK):
        chunk = candidates[start : start + IN_CHUNK]
        stems = {key.split(".", 1)[0]: key for key in chunk}
        referenced = {
            key.split(".", 1)[0]
            for key in session.scalars(
                select(EquivalencyRequest.evidence_key).where(
                    EquivalencyRequest.evidence_key.in_([f"{stem}.pdf" for stem in stems])
                )
            )
        }
        for stem, key in stems.items():
            if stem not in referenced:
                discard_evidence(previews, key)
                removed += 1
    return removed

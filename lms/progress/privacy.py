"""Progress's part of a person's privacy requests: their completions (kept when erased)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.auth.api import Export, PrivacyHooks, User, iso
from lms.progress.models import Completion


def export(session: Session, user: User) -> Export:
    """Every completion, live or revoked, with its item (one query and one for the items)."""
    completions = session.scalars(
        select(Completion)
        .options(selectinload(Completion.item))
        .where(Completion.user_id == user.id)
        .order_by(Completion.completed_on, Completion.id)
    ).all()
    return Export(
        [
            {
                "item": c.item.code,
                "title": c.item.title,
                "completed_on": iso(c.completed_on),
                "source": c.source.value,
                "ce_hours": str(hours) if (hours := c.awarded_ce_hours) is not None else None,
                "offering_id": c.offering_id,
                "recorded_at": iso(c.recorded_at),
                "note": c.note,
                "revoked_at": iso(c.revoked_at),
                "revoke_reason": c.revoke_reason,
            }
            for c in completions
        ]
    )


# Completions are the programme's record of training: kept, tied to the anonymised account.
HOOKS = PrivacyHooks("completions", export)

"""Credit for outside training as a fact of the progress standings: approved requests count
as the item done elsewhere; a pending one is named on the item and listed as awaited."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.catalog.api import CatalogItem
from lms.db import read
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.progress.api import Awaiting, FactSource, Histories, register

# Every request of the people, with its time: approved and pending ones are facts, and all of
# them count towards the person's last activity.
_REQUESTS = (
    select(
        EquivalencyRequest.user_id,
        EquivalencyRequest.item_id,
        EquivalencyRequest.status,
        EquivalencyRequest.outside_programme,
        EquivalencyRequest.created_at,
    )
    .where(EquivalencyRequest.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(EquivalencyRequest.created_at, EquivalencyRequest.id)
)
_OWN_PENDING = (
    select(
        CatalogItem.code,
        CatalogItem.title,
        EquivalencyRequest.outside_programme,
        EquivalencyRequest.created_at,
    )
    .join(CatalogItem, EquivalencyRequest.item_id == CatalogItem.id)
    .where(
        EquivalencyRequest.user_id == bindparam("user_id"),
        EquivalencyRequest.status == EquivalencyStatus.PENDING,
    )
    .order_by(EquivalencyRequest.created_at)
)


def load(session: Session, ids: Sequence[int], histories: Histories) -> None:
    """Approved and pending requests of the people: one query."""
    for user_id, item_id, status, outside, at in read(session, _REQUESTS, {"ids": list(ids)}):
        if item_id is None:
            # Consultation credit stands for no item: the Certificate of Training counts it.
            histories.saw(user_id, at)
        elif status == EquivalencyStatus.APPROVED:
            histories.of(user_id).approved.add(item_id)
        elif status == EquivalencyStatus.PENDING:
            histories.of(user_id).pending.setdefault(item_id, outside)
        histories.saw(user_id, at)


def awaiting(session: Session, user_id: int) -> list[Awaiting]:
    """The person's requests awaiting a decision, oldest first: one query."""
    return [Awaiting(*row) for row in read(session, _OWN_PENDING, {"user_id": user_id})]


register(
    FactSource(
        "credits",
        load,
        awaiting=awaiting,
    )
)

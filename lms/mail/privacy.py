"""Mail's part of a person's privacy requests: their notices, and the mail queued for them."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.mail.models import Notification, OutboxMessage


def export(session: Session, user: User) -> Export:
    """Every dashboard notice, read or not."""
    notices = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    return Export(
        [
            {"message": n.message, "created_at": iso(n.created_at), "read_at": iso(n.read_at)}
            for n in notices
        ]
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Notices and every message to the person (by account or by address) go."""
    session.execute(delete(Notification).where(Notification.user_id == erasure.person.id))
    session.execute(
        delete(OutboxMessage).where(
            or_(
                OutboxMessage.user_id == erasure.person.id,
                OutboxMessage.to_address == erasure.old_email,
            )
        )
    )


HOOKS = PrivacyHooks("notices", export, erase)

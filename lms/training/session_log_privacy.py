"""The session log's part of a person's privacy requests: all of it in their own export,
and all of it removed by erasure (rows and client codes; the audit trail names no content)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.training.records_models import ClientCode, SessionEntry


def export(session: Session, user: User) -> Export:
    """Every session the person logged, with its client code, and the codes they hold."""
    rows = session.execute(
        select(SessionEntry, ClientCode.code)
        .join(ClientCode, ClientCode.id == SessionEntry.client_code_id)
        .where(SessionEntry.user_id == user.id)
        .order_by(SessionEntry.year, SessionEntry.month, SessionEntry.id)
    ).all()
    codes = session.scalars(
        select(ClientCode.code).where(ClientCode.user_id == user.id).order_by(ClientCode.id)
    ).all()
    return Export(
        {
            "client_codes": list(codes),
            "sessions": [
                {
                    "month": f"{entry.year:04d}-{entry.month:02d}",
                    "role": entry.role.value,
                    "setting": entry.setting.value,
                    "client_code": code,
                    "logged_at": iso(entry.created_at),
                }
                for entry, code in rows
            ],
        }
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Delete the person's session log and client codes."""
    user_id = erasure.person.id
    removed = session.execute(delete(SessionEntry).where(SessionEntry.user_id == user_id))
    session.execute(delete(ClientCode).where(ClientCode.user_id == user_id))
    erasure.facts["training_sessions_removed"] = removed.rowcount


HOOKS = PrivacyHooks("training_session_log", export, erase)

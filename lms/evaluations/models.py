"""Evaluations: who has answered (submissions), what was answered (responses), reminders sent.

A response carries no person, no timestamp and a random id, so nothing in it ties it to its
submission: not a foreign key, not the moment it was written, not the order of the rows.
The submission row is the only trace of the person, kept to know who has answered (the
certificate waits for it) and erased with the person; the answers stay, anonymous.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, cascading_key, utcnow


def new_response_id() -> str:
    """A random key: row order and ids say nothing about when, or by whom, it was written."""
    return secrets.token_hex(16)


class EvaluationSubmission(Base):
    """A person submitted the evaluation of an offering (once). Holds no answer."""

    __tablename__ = "evaluation_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # One evaluation per person and offering; also the index of "has this person answered".
        UniqueConstraint("user_id", "offering_id"),
        Index("ix_evaluation_submissions_offering_id", "offering_id"),  # an offering's roster
    )


class EvaluationResponse(Base):
    """The answers of one evaluation, without anyone's name on them."""

    __tablename__ = "evaluation_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    # [{"key", "kind", "question", "value", "labels"?}, ...] (lms.catalog.evaluation_form)
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (
        Index("ix_evaluation_responses_offering_id", "offering_id"),
        # On SQLite a table keyed by text still numbers its rows in insertion order (rowid);
        # without it the rows are kept in the random key's order.
        {"sqlite_with_rowid": False},
    )


class EvaluationReminder(Base):
    """The reminder e-mail sent to a person about an offering's evaluation (at most one)."""

    __tablename__ = "evaluation_reminders"

    user_id: Mapped[int] = cascading_key("users")
    offering_id: Mapped[int] = cascading_key("offerings")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Outgoing messages (an outbox written in the same transaction as the change) and notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, str_enum, utcnow
from lms.mail.transport import new_message_id
from lms.status import Status


class OutboxStatus(Status):
    """Where a message stands; `sending` is a claim that stops two senders sending it twice."""

    PENDING = "pending", "Waiting", "info"
    SENDING = "sending", "Sending", "info"
    SENT = "sent", "Sent", "ok"
    FAILED = "failed", "Failed, will retry", "bad"


class OutboxMessage(Base):
    """An e-mail waiting to be sent, or sent; committed with the change it announces."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "status"), default=OutboxStatus.PENDING
    )
    last_attempt_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Made once with the row and sent with every attempt: a copy sent again after an
    # interrupted attempt carries the same Message-ID, so receivers can drop the duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True, default=new_message_id)
    # What the server answered when it accepted the message ("250 ... queued as ...").
    server_reply: Mapped[str | None] = mapped_column(String(500))
    # Files sent with it: [{"filename", "subtype", "method", "text"}] (calendar entries).
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_outbox_messages_sent_at", "sent_at"),
        Index("ix_outbox_messages_status", "status"),
    )


class Notification(Base):
    """A notice on a person's dashboard."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")
    # What it is about ("offering:12"): a newer notice on the same topic supersedes it.
    topic: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

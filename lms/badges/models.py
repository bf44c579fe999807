"""Each certificate's place in the issuer's Bitstring Status List, and its revocation bit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base


class CredentialStatus(Base):
    """A certificate's status list index (allocated once, never reused) and its bit.

    `revoked_at` set is the bit set: the revocation writes it in its own transaction, so the
    published list never lags behind the verify page.
    """

    __tablename__ = "credential_statuses"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT"), primary_key=True
    )
    status_index: Mapped[int] = mapped_column(unique=True)
    revoked_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("status_index >= 0", name="status_index_not_negative"),)

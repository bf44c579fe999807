"""Issued certificates: what they say, frozen at issue, and their stored PDF bytes.

A certificate stands for one completion of a catalogue item, or for a programme credential
awarded to a person (the Certificate of Training: `credential_id`, no item, no completion);
the table's check holds it to exactly one of the two.

A row is written when the completion is recorded (content frozen, no PDF yet); a job renders
the PDF after commit and sets `rendered_at`. A row with `rendered_at` NULL is "being prepared".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.db import Base, partial_index, utcnow
from lms.progress.api import Completion


class Certificate(Base):
    """A certificate issued for one completion. Revoked or superseded, never deleted."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"))
    completion_id: Mapped[int | None] = mapped_column(
        ForeignKey("completions.id", ondelete="RESTRICT")
    )
    # The training credential an award certificate stands for (named by its table: the
    # training feature stands above certificates and hands in plain values).
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_credentials.id", ondelete="RESTRICT")
    )
    design: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # NULL until the render job stores it; sha256 is "" until then (never matches an upload).
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A small flag column beside the deferred PDF, so lists and the sweep never touch the blob.
    rendered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    item: Mapped[CatalogItem | None] = relationship()
    completion: Mapped[Completion | None] = relationship()
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint(
            "(credential_id IS NULL AND completion_id IS NOT NULL AND item_id IS NOT NULL)"
            " OR (credential_id IS NOT NULL AND completion_id IS NULL AND item_id IS NULL)",
            name="one_basis",
        ),
        # Exactly one current certificate per live completion, even under racing requests.
        partial_index(
            "uq_certificates_current",
            "completion_id",
            unique=True,
            where="revoked_at IS NULL AND superseded_by_id IS NULL",
        ),
        # At most one current award certificate per person and credential.
        partial_index(
            "uq_certificates_current_award",
            "user_id",
            "credential_id",
            unique=True,
            where="credential_id IS NOT NULL AND revoked_at IS NULL AND superseded_by_id IS NULL",
        ),
        # The sweep's question, "which records still wait for their PDF?", stays a tiny index.
        partial_index(
            "ix_certificates_due",
            "id",
            where="rendered_at IS NULL AND revoked_at IS NULL",
        ),
        Index("ix_certificates_sha256", "sha256"),
        Index("ix_certificates_user_id", "user_id"),
    )

    @hybrid_property
    def is_current(self) -> bool:
        """The certificate that stands for its completion: neither revoked nor superseded.
        The one definition, in Python and (on the class) in SQL, `Certificate.is_current`."""
        return self.revoked_at is None and self.superseded_by_id is None

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls) -> ColumnElement[bool]:
        """SQL: the certificate is current (what uq_certificates_current covers)."""
        return and_(cls.revoked_at.is_(None), cls.superseded_by_id.is_(None))

"""open badges: each issued certificate's place in the Bitstring Status List

`credential_statuses` gives every issued certificate one index in the issuer's status lists
(unique, allocated once, never reused) and, once it is revoked, the moment its bit was set.
Certificates issued (or revoked) before this revision get their indexes here, in the order
they were issued, and the revoked ones their bits.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create credential_statuses and allocate indexes to the certificates already issued."""
    op.create_table(
        "credential_statuses",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("revoked_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status_index >= 0",
            name=op.f("ck_credential_statuses_status_index_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_credential_statuses_certificate_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_credential_statuses")),
        sa.UniqueConstraint("status_index", name=op.f("uq_credential_statuses_status_index")),
    )
    op.execute(
        "INSERT INTO credential_statuses (certificate_id, status_index, revoked_at)"
        " SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1, revoked_at FROM certificates"
        " WHERE rendered_at IS NOT NULL OR revoked_at IS NOT NULL"
    )


def downgrade() -> None:
    """Drop the table (published credentials then point at indexes nobody serves)."""
    op.drop_table("credential_statuses")

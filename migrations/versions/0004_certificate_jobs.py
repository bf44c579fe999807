"""certificate jobs: rendered_at and the index of records still waiting for their PDF

The certificate row is now written when the completion is recorded and its PDF is rendered
by a job after commit; `rendered_at` says whether that happened (pdf was already nullable).
Existing rows all have their PDF, so they are marked rendered at their issue time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "rendered_at IS NULL AND revoked_at IS NULL"


def upgrade() -> None:
    """Add rendered_at (filled for rows that have a PDF) and the partial index of due rows."""
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rendered_at", lms.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE certificates SET rendered_at = issued_at WHERE pdf IS NOT NULL")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certificates_due",
            ["id"],
            unique=False,
            sqlite_where=sa.text(DUE),
            postgresql_where=sa.text(DUE),
        )


def downgrade() -> None:
    """Drop the index and the column (rows still without a PDF keep pdf NULL)."""
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_due")
        batch_op.drop_column("rendered_at")

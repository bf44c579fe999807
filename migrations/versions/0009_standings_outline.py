"""standings outline: what is missing as a list, beside the one-line explanation

A locked item's explanation reads as one sentence ("Complete Module 1, or have ... approved
and complete one of ..."); the outline sets its alternatives out one per item, so pages can
show them as a list. Both the verdict now and the verdict once the licence lapses get one.
Every standing is recomputed after the upgrade (the rows of locked items gain their outline).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outline and lapsed_outline (JSON, empty for rows that are not locked), then refill."""
    with op.batch_alter_table("standings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outline", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("lapsed_outline", sa.JSON(), nullable=True))
    from lms.migrate import request_standings_refill

    request_standings_refill()


def downgrade() -> None:
    """Drop both columns (the explanations they set out stay in the rows)."""
    with op.batch_alter_table("standings", schema=None) as batch_op:
        batch_op.drop_column("lapsed_outline")
        batch_op.drop_column("outline")
